import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunkSplitArb, MAX_PIECES, splitChunks } from './chunks.js';
import { applyMutation, mutationArb, resolvePosition, type SeedInput } from './mutations.js';

const seed: SeedInput = { name: 's', bytes: Uint8Array.from({ length: 40 }, (_, i) => i), boundaries: [0, 8, 17, 30] };

describe('mutations', () => {
  it('each kind edits the input as it says', () => {
    const at = (delta: number) => ({ anchor: -1, delta });
    expect([...applyMutation(seed, { kind: 'flip', at: at(3), bit: 7 }, []).bytes.subarray(0, 5)]).toEqual([0, 1, 2, 0x83, 4]);
    expect(applyMutation(seed, { kind: 'truncate', at: at(10) }, []).bytes.length).toBe(10);
    expect([...applyMutation(seed, { kind: 'delete', at: at(1), len: 2 }, []).bytes.subarray(0, 3)]).toEqual([0, 3, 4]);
    expect([...applyMutation(seed, { kind: 'insert', at: at(1), bytes: Uint8Array.of(9, 9) }, []).bytes.subarray(0, 4)]).toEqual([0, 9, 9, 1]);
    expect([...applyMutation(seed, { kind: 'set', at: { anchor: 1, delta: 1 }, bytes: Uint8Array.of(0xff) }, []).bytes.subarray(8, 11)]).toEqual([8, 0xff, 10]);
    const dropped = applyMutation(seed, { kind: 'record', op: 'drop', record: 1, to: 0 }, []).bytes; // bytes 8..17
    expect([dropped.length, dropped[8]]).toEqual([31, 17]);
    const repeated = applyMutation(seed, { kind: 'record', op: 'duplicate', record: 0, to: 0 }, []).bytes;
    expect([repeated.length, repeated[8], repeated[16]]).toEqual([48, 0, 8]);
    const spliced = applyMutation(seed, { kind: 'splice', at: at(0), donor: 0, from: at(5), len: 3 }, [seed]).bytes;
    expect([...spliced.subarray(0, 4)]).toEqual([5, 6, 7, 0]);
  });

  it('positions stay inside the input; any generated mutation applies', () => {
    fc.assert(fc.property(mutationArb(1), fc.integer({ min: 0, max: 50 }), (m, n) => {
      const input = { ...seed, bytes: seed.bytes.subarray(0, n), boundaries: seed.boundaries.filter((b) => b <= n) };
      if ('at' in m) expect(resolvePosition(m.at, n, input.boundaries)).toBeLessThanOrEqual(n);
      expect(applyMutation(input, m, [seed]).bytes).toBeInstanceOf(Uint8Array);
    }), { numRuns: 500, seed: 1 });
  });

  it('a chunk split keeps every byte in order, in at most MAX_PIECES pieces', () => {
    fc.assert(fc.property(chunkSplitArb(), fc.integer({ min: 0, max: 100_000 }), (split, n) => {
      const bytes = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
      const pieces = splitChunks(bytes, split);
      expect(pieces.length).toBeLessThanOrEqual(MAX_PIECES);
      expect(Buffer.compare(Buffer.concat(pieces), bytes)).toBe(0);
      expect(pieces.every((p) => p.length > 0)).toBe(true);
    }), { numRuns: 200, seed: 1 });
  });
});
