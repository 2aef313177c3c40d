// Fuzzing the QMP server over a real unix socket: a negotiated client sends mutated request lines (see
// test/qmp-seeds.ts) in random chunk splits, then a sentinel. Properties: every non-blank line gets exactly one
// reply, in order ({return} or {error: {class, desc}}), the sentinel's last; the server logs no internal error
// and keeps serving new clients. `pnpm fuzz` runs it longer (FUZZ_RUNS).
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkSplitArb, fc, mutate, mutationArb, runFuzz, splitChunks, withDeadline } from '@mig/fuzz';
import { qmpSeeds } from '../test/qmp-seeds.js';
import { RawPeer, stubHandlers, tempDir } from '../test/support.js';
import { QmpServer } from './server.js';

const seeds = qmpSeeds();
let tmp: ReturnType<typeof tempDir>;
let server: QmpServer;
let sock = '';
const errors: string[] = [];

beforeAll(async () => {
  tmp = tempDir();
  sock = join(tmp.dir, 'qmp.sock');
  server = new QmpServer({ handlers: stubHandlers(), log: (level, message) => void (level === 'error' && errors.push(message)) });
  await server.listen({ kind: 'unix', path: sock });
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

/** Non-blank lines of `bytes` as the server splits them (it drops blank ones). */
function requestLines(bytes: Uint8Array): number {
  return Buffer.from(bytes).toString('latin1').split('\n').filter((l) => l.replace(/\r$/, '').trim() !== '').length;
}

describe('QMP server fuzz', () => {
  it('mutated request lines in random chunks: one reply per line, in order, no internal error, still serving', async () => {
    const input = fc.record({
      lines: fc.array(fc.record({ seed: fc.nat(), mutations: fc.array(mutationArb(seeds.length), { maxLength: 3 }) }), { minLength: 1, maxLength: 6 }),
      split: chunkSplitArb(),
    });
    const property = fc.asyncProperty(input, async ({ lines, split }) => {
      const parts = lines.map(({ seed, mutations }) => mutate(seeds[seed % seeds.length]!, mutations, seeds).bytes);
      const body = Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
      const expected = requestLines(body);
      const peer = await RawPeer.connect({ path: sock });
      try {
        await peer.negotiate();
        for (const piece of splitChunks(body, split)) {
          peer.socket.write(piece);
          await nextTurn(); // so that pieces arrive as separate reads (mostly)
        }
        peer.send('{"execute":"query-status","id":"fuzz-end"}');
        const replies = await withDeadline((async () => {
          const got: Record<string, unknown>[] = [];
          for (;;) {
            const r = await peer.next();
            if ('event' in r) continue;
            got.push(r);
            if (JSON.stringify(r['id']) === '"fuzz-end"' && 'return' in r) return got;
          }
        })(), 30_000, `replies to ${expected} lines`);
        // the sentinel's reply comes last: every line before it was answered once
        expect(replies.length - 1).toBe(expected);
        for (const r of replies) expect('return' in r || (typeof r['error'] === 'object' && r['error'] !== null)).toBe(true);
      } finally {
        peer.destroy();
      }
      expect(errors).toEqual([]);
    });
    const result = await runFuzz('qmp-server', 100, property);
    expect(result.runs).toBeGreaterThan(0);
    const after = await RawPeer.connect({ path: sock });
    await after.negotiate();
    after.destroy();
  }, 600_000);
});
