// `mig analyze FILE|-`: the entry point the CLI calls; returns the exit status.
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { StreamError } from '@mig/savevm';
import { EXIT_FAILED, EXIT_IO, EXIT_OK, EXIT_USAGE, type ToolIo } from '../tool-io.js';
import { ANALYZE_HELP, parseAnalyzeArgs, type AnalyzeArgs } from './analyze-args.js';
import { analysisText } from './analysis-text.js';
import { StreamAnalysis } from './stream-analysis.js';

/** Bytes read from a file at a time: whole pages and chunks per push, few pushes. */
const READ_CHUNK = 1 << 20;

export async function runAnalyze(argv: readonly string[], io: ToolIo): Promise<number> {
  let args: AnalyzeArgs | 'help';
  try {
    args = parseAnalyzeArgs(argv);
  } catch (e) {
    io.stderr.write(`mig analyze: ${(e as Error).message}\n${ANALYZE_HELP}\n`);
    return EXIT_USAGE;
  }
  if (args === 'help') {
    io.stdout.write(`${ANALYZE_HELP}\n`);
    return EXIT_OK;
  }
  try {
    for (const dir of [args.ramOut, args.diskOut]) if (dir !== undefined) await mkdir(dir, { recursive: true });
  } catch (e) {
    io.stderr.write(`mig analyze: ${(e as Error).message}\n`);
    return EXIT_IO;
  }
  return analyze(args, io);
}

async function analyze(args: AnalyzeArgs, io: ToolIo): Promise<number> {
  const analysis = new StreamAnalysis(args);
  const name = args.input === '-' ? 'stdin' : args.input;
  let damage: StreamError | undefined;
  let ioError: Error | undefined;
  try {
    const input = args.input === '-' ? io.stdin : createReadStream(args.input, { highWaterMark: READ_CHUNK });
    for await (const chunk of input as AsyncIterable<Uint8Array>) {
      analysis.push(chunk);
      await analysis.drain();
    }
    analysis.end();
    await analysis.drain();
  } catch (e) {
    if (e instanceof StreamError && !isIoError(e.cause)) damage = e;
    else ioError = e as Error;
  }
  try {
    analysis.close();
  } catch (e) {
    ioError ??= e as Error;
  }
  const result = analysis.result(name, damage);
  io.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : analysisText(result));
  if (damage) io.stderr.write(`mig analyze: ${name}: ${damage.message}\n`);
  if (ioError) io.stderr.write(`mig analyze: ${name}: ${ioError.message}\n`);
  return ioError ? EXIT_IO : damage ? EXIT_FAILED : EXIT_OK;
}

/** A failed read or write of a file (it has a syscall), not a defect of the stream. */
function isIoError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'syscall' in e;
}
