// A migration stream's slow reader for backpressure tests: reads from stdin, an inherited descriptor or the
// one connection of a listener, at most --rate bytes per second, and copies what it read to stdout or a
// unix socket. Run as a command (`node dist/slow-reader.js ...`, see slowReaderCommand), e.g. as a target's
// `-incoming exec:` or a source's `migrate exec:`.
//   --from stdin | fd:N | listen:tcp:HOST:PORT | listen:unix:PATH     --to stdout | unix:PATH
//   --rate BYTES_PER_SECOND    --ready FILE (written once listening or connected)
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export interface SlowReaderOptions {
  from: 'stdin' | `fd:${number}` | `listen:tcp:${string}` | `listen:unix:${string}`;
  to?: 'stdout' | `unix:${string}`;
  rate: number;
  ready?: string;
}

/** The command line that runs the slow reader with node (paths quoted for `sh -c`). */
export function slowReaderCommand(opts: SlowReaderOptions): string {
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  const args = ['--from', opts.from, '--to', opts.to ?? 'stdout', '--rate', String(opts.rate)];
  if (opts.ready !== undefined) args.push('--ready', opts.ready);
  return [process.execPath, scriptPath(), ...args].map(quote).join(' ');
}

/** This module as node runs it: the built dist/slow-reader.js, also when the caller runs from the sources. */
function scriptPath(): string {
  const self = fileURLToPath(import.meta.url);
  return self.endsWith('.ts') ? fileURLToPath(new URL('../dist/slow-reader.js', import.meta.url)) : self;
}

function parseArgs(argv: readonly string[]): Required<Omit<SlowReaderOptions, 'ready'>> & { ready?: string } {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const rate = Number(get('rate'));
  if (!(rate > 0)) throw new Error('slow-reader: --rate BYTES_PER_SECOND is required');
  const ready = get('ready');
  return {
    from: (get('from') ?? 'stdin') as SlowReaderOptions['from'],
    to: (get('to') ?? 'stdout') as NonNullable<SlowReaderOptions['to']>,
    rate,
    ...(ready === undefined ? {} : { ready }),
  };
}

function openInput(from: SlowReaderOptions['from'], ready: () => void): Promise<Readable> {
  if (from === 'stdin') return Promise.resolve(process.stdin);
  if (from.startsWith('fd:')) return Promise.resolve(new net.Socket({ fd: Number(from.slice(3)), readable: true, writable: false }));
  const where = from.slice('listen:'.length);
  return new Promise((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      server.close();
      resolve(socket);
    });
    server.once('error', reject);
    const onListening = (): void => ready();
    if (where.startsWith('unix:')) server.listen(where.slice(5), onListening);
    else {
      const [, host, port] = /^tcp:(.*):(\d+)$/.exec(where) ?? [];
      server.listen(Number(port), host, onListening);
    }
  });
}

function openOutput(to: NonNullable<SlowReaderOptions['to']>): Promise<Writable> {
  if (to === 'stdout') return Promise.resolve(process.stdout);
  return new Promise((resolve, reject) => {
    const socket = net.connect(to.slice(5), () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Copies input to output, pausing the input whenever it is ahead of `rate` (and while the output is full). */
async function run(argv: readonly string[]): Promise<void> {
  const opts = parseArgs(argv);
  const markReady = (): void => {
    if (opts.ready !== undefined) writeFileSync(opts.ready, 'ready\n');
  };
  const output = await openOutput(opts.to);
  const input = await openInput(opts.from, markReady);
  if (!opts.from.startsWith('listen:')) markReady();
  // the clock starts at the first byte: time spent waiting for the writer is no credit for a burst later
  let started = -1;
  let copied = 0;
  input.on('data', (chunk: Buffer) => {
    if (started < 0) started = Date.now();
    copied += chunk.length;
    const full = !output.write(chunk);
    const aheadMs = (copied / opts.rate) * 1000 - (Date.now() - started);
    if (!full && aheadMs <= 0) return;
    input.pause();
    const resume = (): void => void setTimeout(() => input.resume(), Math.max(0, aheadMs));
    if (full) output.once('drain', resume);
    else resume();
  });
  input.resume();
  await new Promise<void>((resolve, reject) => {
    input.once('end', resolve);
    input.once('error', reject);
  });
  // stdout (a pipe: synchronous writes on Linux) is flushed when the process exits
  if (output !== process.stdout) await new Promise<void>((resolve) => output.end(resolve));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`slow-reader: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
