// How an input reaches a push parser: the socket's chunk boundaries fall anywhere, so a parser must give the
// same outcome for every split of the same bytes.
import fc from 'fast-check';

export type ChunkSplit =
  /** Cut at these points (each taken modulo the length). */
  | { readonly kind: 'points'; readonly points: readonly number[] }
  /** Pieces of `size` bytes (raised so that an input makes at most MAX_PIECES pieces). */
  | { readonly kind: 'every'; readonly size: number };

/** Inputs are never cut into more pieces than this (a 4 MiB stream byte by byte would be slow, not harder). */
export const MAX_PIECES = 8192;

export function chunkSplitArb(): fc.Arbitrary<ChunkSplit> {
  return fc.oneof(
    fc.record({ kind: fc.constant('points' as const), points: fc.array(fc.nat(), { maxLength: 12 }) }),
    fc.record({ kind: fc.constant('every' as const), size: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 70_000 })) }),
  );
}

/** The pieces of `bytes` for a split (views, no copies). */
export function splitChunks(bytes: Uint8Array, split: ChunkSplit): Uint8Array[] {
  const len = bytes.length;
  if (len === 0) return [];
  const cuts: number[] = [];
  if (split.kind === 'points') {
    cuts.push(...new Set(split.points.map((p) => p % len).filter((p) => p > 0)));
    cuts.sort((a, b) => a - b);
  } else {
    const size = Math.max(split.size, Math.ceil(len / MAX_PIECES));
    for (let p = size; p < len; p += size) cuts.push(p);
  }
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const c of cuts) {
    pieces.push(bytes.subarray(start, c));
    start = c;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

export function describeSplit(split: ChunkSplit): string {
  return split.kind === 'points' ? `cut at ${split.points.join(',') || 'nothing'}` : `pieces of ${split.size} bytes`;
}
