// Reading and writing one entry of a refcount block at any refcount_order 0..6 (1..64-bit entries).
// Sub-byte entries fill each byte from its least significant bit, as the format says; wider ones are
// big-endian. 64-bit counts are handled as two 32-bit halves (a count past 2^53 is refused).

const TWO_32 = 4294967296;

export function refcountBits(order: number): number {
  return 1 << order;
}

/** Largest count an entry holds (capped at what a JS number represents exactly). */
export function maxRefcount(order: number): number {
  return order >= 6 ? Number.MAX_SAFE_INTEGER : 2 ** refcountBits(order) - 1;
}

export function getRefcount(block: Uint8Array, index: number, order: number): number {
  switch (order) {
    case 3:
      return block[index]!;
    case 4:
      return (block[index * 2]! << 8) | block[index * 2 + 1]!;
    case 5:
      return u32(block, index * 4);
    case 6:
      return u32(block, index * 8) * TWO_32 + u32(block, index * 8 + 4);
    default: {
      const bits = 1 << order;
      const bitPos = index * bits;
      return (block[bitPos >> 3]! >> (bitPos & 7)) & ((1 << bits) - 1);
    }
  }
}

export function setRefcount(block: Uint8Array, index: number, order: number, value: number): void {
  switch (order) {
    case 3:
      block[index] = value;
      return;
    case 4:
      block[index * 2] = value >>> 8;
      block[index * 2 + 1] = value & 0xff;
      return;
    case 5:
      putU32(block, index * 4, value);
      return;
    case 6:
      putU32(block, index * 8, Math.floor(value / TWO_32));
      putU32(block, index * 8 + 4, value % TWO_32);
      return;
    default: {
      const bits = 1 << order;
      const bitPos = index * bits;
      const mask = ((1 << bits) - 1) << (bitPos & 7);
      const byte = bitPos >> 3;
      block[byte] = (block[byte]! & ~mask) | ((value << (bitPos & 7)) & mask);
    }
  }
}

/** Byte range [start, end) of a block holding entries [first, first+count). */
export function entryByteRange(first: number, count: number, order: number): [number, number] {
  const bits = 1 << order;
  return [Math.floor((first * bits) / 8), Math.ceil(((first + count) * bits) / 8)];
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
