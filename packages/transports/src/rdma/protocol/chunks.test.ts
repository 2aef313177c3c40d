import { describe, expect, it } from 'vitest';
import { chunkEnd, chunkIndex, chunkSlots, chunkStart, extraChunks, registrationRange } from './chunks.js';
import { blockOf, chunkOf, kindOf, MAX_CHUNK_INDEX, workRequestId, writeIdHigh, writeIdLow } from './work-request-id.js';

const MiB = 1 << 20;

describe('chunks of a RAM block', () => {
  it('counts slots as QEMU does: (length >> 20) + 1', () => {
    expect(chunkSlots(0)).toBe(1);
    expect(chunkSlots(4096)).toBe(1);
    expect(chunkSlots(MiB)).toBe(2); // one slot more than needed for a whole number of chunks
    expect(chunkSlots(64 * MiB + 4096)).toBe(65);
  });

  it('places offsets in chunks; the last chunk ends at the block end', () => {
    expect([chunkIndex(0), chunkIndex(MiB - 1), chunkIndex(MiB), chunkIndex(5 * MiB + 7)]).toEqual([0, 0, 1, 5]);
    expect(chunkStart(3)).toBe(3 * MiB);
    expect(chunkEnd(0, 10 * MiB)).toBe(MiB);
    expect(chunkEnd(2, 2 * MiB + 4096)).toBe(2 * MiB + 4096);
  });

  it("REGISTER's chunks field counts the chunks after the first", () => {
    expect([extraChunks(4096), extraChunks(MiB - 4096), extraChunks(MiB), extraChunks(MiB + 4096), extraChunks(2 * MiB)]).toEqual([0, 0, 0, 1, 1]);
    expect(registrationRange(1, 1, 10 * MiB)).toEqual({ start: MiB, end: 3 * MiB });
    expect(registrationRange(9, 3, 9 * MiB + 8192)).toEqual({ start: 9 * MiB, end: 9 * MiB + 8192 });
  });
});

describe('work request ids', () => {
  it('pack kind | block << 16 | chunk << 30 as QEMU does', () => {
    const low = writeIdLow(5, 0x3_0000_0007);
    const high = writeIdHigh(0x3_0000_0007);
    expect(workRequestId(low, high)).toBe(1n | (5n << 16n) | (0x3_0000_0007n << 30n));
    expect([kindOf(low), blockOf(low), chunkOf(low, high)]).toEqual([1, 5, 0x3_0000_0007]);
    expect(chunkOf(writeIdLow(0, MAX_CHUNK_INDEX), writeIdHigh(MAX_CHUNK_INDEX))).toBe(MAX_CHUNK_INDEX);
    expect(workRequestId(writeIdLow(16383, 0), writeIdHigh(0))).toBe(1n | (16383n << 16n));
  });
});
