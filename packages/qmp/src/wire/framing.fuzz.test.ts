// Fuzzing the QMP input path without a socket: the line decoder (any chunk split), JSON parsing, QEMU's request
// checks and the commands' argument schemas, on real request lines mutated (bit flips, inserted/deleted bytes,
// truncation, splices between lines, tokens dropped/repeated/moved). Properties: the decoder gives the lines a
// plain split gives, or LineTooLongError after the same lines, whatever the chunks; JSON.parse only throws
// SyntaxError; the checks and schemas never throw. `pnpm fuzz` runs it longer (FUZZ_RUNS).
import { describe, expect, it } from 'vitest';
import { chunkSplitArb, fc, mutate, mutationArb, runFuzz, splitChunks } from '@mig/fuzz';
import { getCommand } from '../commands/registry.js';
import { qmpSeeds } from '../../test/qmp-seeds.js';
import { LineDecoder, LineTooLongError } from './framing.js';
import { checkRequest } from './messages.js';

const seeds = qmpSeeds();
const MAX = 160;

/** What a decoder must produce for `bytes`: its lines, and whether a line (or the unfinished tail) is too long. */
function reference(bytes: Uint8Array): { lines: string[]; overflow: boolean } {
  const lines: string[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(0x0a); nl >= 0; nl = bytes.indexOf(0x0a, start)) {
    if (nl - start > MAX) return { lines, overflow: true };
    const text = Buffer.from(bytes.subarray(start, nl)).toString('utf8');
    lines.push(text.endsWith('\r') ? text.slice(0, -1) : text);
    start = nl + 1;
  }
  return { lines, overflow: bytes.length - start > MAX };
}

function decode(pieces: readonly Uint8Array[]): { lines: string[]; overflow: boolean } {
  const d = new LineDecoder(MAX);
  const lines: string[] = [];
  for (const p of pieces) {
    try {
      lines.push(...d.push(Buffer.from(p.buffer, p.byteOffset, p.length)));
    } catch (e) {
      if (!(e instanceof LineTooLongError)) throw e;
      lines.push(...e.lines);
      return { lines, overflow: true };
    }
  }
  return { lines, overflow: false };
}

/** The server's per-line path up to the handler: must answer (return a check or throw SyntaxError), never crash. */
function checkLine(line: string): void {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    expect(e).toBeInstanceOf(SyntaxError);
    return;
  }
  for (const oob of [false, true]) {
    const check = checkRequest(value, oob);
    if (!check.ok) {
      expect(typeof check.desc).toBe('string');
      continue;
    }
    getCommand(check.request.execute)?.args.safeParse(check.request.arguments);
  }
}

describe('QMP line decoder and request checks fuzz', () => {
  it('mutated request lines in random chunks: same lines as a plain split, typed overflow, checks never throw', async () => {
    const input = fc.record({
      lines: fc.array(fc.record({ seed: fc.nat(), mutations: fc.array(mutationArb(seeds.length), { maxLength: 4 }) }), { minLength: 1, maxLength: 6 }),
      split: chunkSplitArb(),
      end: fc.boolean(),
    });
    const property = fc.property(input, ({ lines, split, end }) => {
      const parts = lines.map(({ seed, mutations }) => mutate(seeds[seed % seeds.length]!, mutations, seeds).bytes);
      const joined = Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
      const bytes = end ? joined : joined.subarray(0, joined.length - 1);
      const want = reference(bytes);
      const got = decode(splitChunks(bytes, split));
      expect(got).toEqual(want);
      for (const line of got.lines) checkLine(line);
    });
    const result = await runFuzz('qmp-lines', 1500, property);
    expect(result.runs).toBeGreaterThan(0);
  }, 600_000);
});
