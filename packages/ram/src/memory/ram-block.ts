import { PAGE_SIZE } from './constants.js';

/** One QEMU RAMBlock: a named, contiguous piece of guest RAM. */
export interface RamBlock {
  /** QEMU's RAMBlock idstr, e.g. `ram` for `-machine none -m N`, or the memory backend id (`mem0`). */
  readonly idstr: string;
  /** used_length in bytes: a multiple of the page size. */
  readonly usedLength: number;
  /** View of the host memory behind the block; its length is `usedLength`. */
  readonly bytes: Uint8Array;
  /** Guest-physical address of byte 0 of the block. */
  readonly guestAddress: number;
}

/** Builds a RamBlock after checking the facts the stream codec relies on. */
export function createRamBlock(idstr: string, bytes: Uint8Array, guestAddress = 0): RamBlock {
  const idLen = Buffer.byteLength(idstr, 'utf8');
  if (idLen === 0 || idLen > 255) {
    throw new RangeError(`RAM block idstr ${JSON.stringify(idstr)} must be 1..255 bytes long (is ${idLen})`);
  }
  if (bytes.length % PAGE_SIZE !== 0 || bytes.length === 0) {
    throw new RangeError(`RAM block ${idstr}: length ${bytes.length} is not a positive multiple of ${PAGE_SIZE}`);
  }
  if (!Number.isSafeInteger(guestAddress) || guestAddress < 0 || guestAddress % PAGE_SIZE !== 0) {
    throw new RangeError(`RAM block ${idstr}: guest address ${guestAddress} is not a page-aligned address`);
  }
  return { idstr, usedLength: bytes.length, bytes, guestAddress };
}
