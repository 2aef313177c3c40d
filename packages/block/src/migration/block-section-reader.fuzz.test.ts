// Fuzzing the block section reader under the savevm stream reader with QEMU 7.2's block streams as seeds
// (mutated: bit flips, byte inserts/deletes, truncation, splices, records dropped/repeated/moved; pushed in
// random chunk splits). Properties: it completes or refuses with a StreamError naming an offset, never holds
// more than one record, never loops, makes at most a bounded number of chunk buffers, and gives the same
// outcome for every chunk split of the same bytes. `pnpm fuzz` runs it longer (FUZZ_RUNS).
import { beforeAll, describe, expect, it } from 'vitest';
import { chunkSplitArb, describeMutation, describeSplit, fc, mutate, mutationArb, runFuzz, splitChunks, type SeedInput } from '@mig/fuzz';
import { BLOCK_IO_DEPTH, CHUNK_SIZE } from './constants.js';
import { BLOCK_FIXTURES, blockSeeds, loadBlockStream } from '../../test/fuzz-target.js';

let seeds: SeedInput[] = [];
beforeAll(async () => {
  seeds = await blockSeeds();
}, 120_000);

describe('block section reader fuzz', () => {
  it('every QEMU seed loads whole and split (control)', async () => {
    expect(seeds.map((s) => s.name)).toEqual(BLOCK_FIXTURES);
    for (const s of seeds) {
      const r = await loadBlockStream(splitChunks(s.bytes, { kind: 'points', points: [1, 13, 1000, 70_001] }));
      expect(r.outcome, s.name).toEqual({ kind: 'completed' });
    }
  });

  it('mutated QEMU block streams: typed refusals with offsets, bounded buffers and steps, split-invariant', async () => {
    const seen = { completed: 0, refused: 0 };
    const input = fc.record({
      seed: fc.nat(),
      mutations: fc.array(mutationArb(BLOCK_FIXTURES.length), { minLength: 1, maxLength: 4 }),
      split: chunkSplitArb(),
    });
    const property = fc.asyncProperty(input, async ({ seed, mutations, split }) => {
      const base = seeds[seed % seeds.length]!;
      const bytes = mutate(base, mutations, seeds).bytes;
      const what = `${base.name}: ${mutations.map(describeMutation).join('; ')}; ${describeSplit(split)}`;
      const reference = await loadBlockStream(splitChunks(bytes, { kind: 'every', size: 65536 }));
      const pieces = splitChunks(bytes, split);
      const actual = await loadBlockStream(pieces);
      expect(actual.outcome, what).toEqual(reference.outcome);
      const largest = pieces.reduce((m, p) => Math.max(m, p.length), 0);
      expect(actual.buffersAllocated, what).toBeLessThanOrEqual(BLOCK_IO_DEPTH + Math.ceil(largest / CHUNK_SIZE) + 1);
      seen[actual.outcome.kind]++;
    });
    const result = await runFuzz('block-section', 100, property);
    expect(result.runs).toBeGreaterThan(0);
    // a harness that refused (or accepted) everything would test nothing
    if (result.runs >= 100) expect(seen.refused).toBeGreaterThan(0);
  }, 600_000);
});
