// Fuzzing the incoming worker's stream reader (incomingSections: timer, block over a DriveHost, ram with
// XBZRLE, globalstate) with QEMU 7.2's streams as seeds, mutated (bit flips, byte inserts/deletes, truncation,
// splices between seeds, records dropped/repeated/moved) and pushed in random chunk splits. Properties: it
// completes or refuses with a StreamError naming an offset inside what was pushed; it never holds more than
// one record, never loops (parse steps bounded by the bytes), never hangs, makes a bounded number of chunk
// buffers; and a split of the bytes never changes the outcome. `pnpm fuzz` runs it longer (FUZZ_RUNS).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkSplitArb, describeMutation, describeSplit, fc, mutate, mutationArb, runFuzz, splitChunks } from '@mig/fuzz';
import { StreamTarget, streamSeeds, type StreamSeed } from '../../test/stream-fuzz-target.js';

const SEEDS = 8;
let target: StreamTarget;
let seeds: StreamSeed[] = [];
beforeAll(async () => {
  target = await StreamTarget.create();
  seeds = await streamSeeds(target);
}, 120_000);
afterAll(async () => target?.close());

describe('incoming stream reader fuzz (the worker\'s sections)', () => {
  it('every QEMU seed loads whole and split (control)', async () => {
    expect(seeds.length).toBe(SEEDS);
    for (const s of seeds) {
      const r = await target.load(s.ram, splitChunks(s.bytes, { kind: 'points', points: [1, 9, 4097, 65_539] }));
      expect(r.outcome, s.name).toEqual({ kind: 'completed' });
    }
  });

  it('mutated QEMU streams: typed refusals with offsets, bounded buffers and steps, no hang, split-invariant', async () => {
    const seen = { completed: 0, refused: 0 };
    const input = fc.record({
      seed: fc.nat(),
      mutations: fc.array(mutationArb(SEEDS), { minLength: 1, maxLength: 4 }),
      split: chunkSplitArb(),
    });
    const property = fc.asyncProperty(input, async ({ seed, mutations, split }) => {
      const base = seeds[seed % seeds.length]!;
      const bytes = mutate(base, mutations, seeds).bytes;
      const what = `${base.name}: ${mutations.map(describeMutation).join('; ')}; ${describeSplit(split)}`;
      const reference = await target.load(base.ram, splitChunks(bytes, { kind: 'every', size: 65536 }));
      const pieces = splitChunks(bytes, split);
      const actual = await target.load(base.ram, pieces);
      expect(actual.outcome, what).toEqual(reference.outcome);
      const largest = pieces.reduce((m, p) => Math.max(m, p.length), 0);
      expect(actual.buffers, what).toBeLessThanOrEqual(16 + Math.ceil(largest / (1 << 20)) + 1);
      seen[actual.outcome.kind]++;
    });
    const result = await runFuzz('stream', 150, property);
    if (result.runs >= 150) expect(seen.refused).toBeGreaterThan(0);
  }, 600_000);
});
