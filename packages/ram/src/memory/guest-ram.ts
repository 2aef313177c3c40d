import { PAGE_SIZE } from './constants.js';
import type { RamBlock } from './ram-block.js';

/** Where a guest-physical address lands. */
export interface RamLocation {
  readonly block: RamBlock;
  readonly blockIndex: number;
  readonly offset: number;
}

/** The guest's RAM: an ordered list of RAMBlocks (the order in which they are migrated). */
export class GuestRam {
  readonly blocks: readonly RamBlock[];
  /** Sum of the blocks' used lengths (QEMU's ram_bytes_total). */
  readonly totalBytes: number;
  /** Number of pages over all blocks. */
  readonly totalPages: number;
  /** Page index of each block's first page when all blocks are numbered in order. */
  readonly firstPage: readonly number[];
  private readonly byId = new Map<string, number>();
  private readonly byAddress: number[];

  constructor(blocks: readonly RamBlock[]) {
    if (blocks.length === 0) throw new RangeError('guest RAM needs at least one RAM block');
    let total = 0;
    const firstPage: number[] = [];
    blocks.forEach((b, i) => {
      if (this.byId.has(b.idstr)) throw new RangeError(`duplicate RAM block idstr ${JSON.stringify(b.idstr)}`);
      if (b.bytes.length !== b.usedLength) {
        throw new RangeError(`RAM block ${b.idstr}: bytes.length ${b.bytes.length} != usedLength ${b.usedLength}`);
      }
      if (b.usedLength <= 0 || b.usedLength % PAGE_SIZE !== 0) {
        throw new RangeError(`RAM block ${b.idstr}: usedLength ${b.usedLength} is not a positive multiple of ${PAGE_SIZE}`);
      }
      this.byId.set(b.idstr, i);
      firstPage.push(total / PAGE_SIZE);
      total += b.usedLength;
    });
    this.byAddress = blocks.map((_, i) => i).sort((a, b) => blocks[a]!.guestAddress - blocks[b]!.guestAddress);
    for (let k = 1; k < this.byAddress.length; k++) {
      const prev = blocks[this.byAddress[k - 1]!]!;
      const cur = blocks[this.byAddress[k]!]!;
      if (prev.guestAddress + prev.usedLength > cur.guestAddress) {
        throw new RangeError(`RAM blocks ${prev.idstr} and ${cur.idstr} overlap in guest-physical memory`);
      }
    }
    this.blocks = blocks;
    this.totalBytes = total;
    this.totalPages = total / PAGE_SIZE;
    this.firstPage = firstPage;
  }

  /** The block with this idstr, or undefined. */
  find(idstr: string): RamBlock | undefined {
    const i = this.byId.get(idstr);
    return i === undefined ? undefined : this.blocks[i];
  }

  /** Index of the block with this idstr, or -1. */
  indexOf(idstr: string): number {
    return this.byId.get(idstr) ?? -1;
  }

  /** Index of the block holding guest-physical address `gpa`, or -1 when no block maps it. */
  blockIndexAt(gpa: number): number {
    const order = this.byAddress;
    let lo = 0;
    let hi = order.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = this.blocks[order[mid]!]!;
      if (gpa < b.guestAddress) hi = mid - 1;
      else if (gpa >= b.guestAddress + b.usedLength) lo = mid + 1;
      else return order[mid]!;
    }
    return -1;
  }

  /** Block and offset of guest-physical address `gpa`, or undefined when no block maps it. */
  locate(gpa: number): RamLocation | undefined {
    const i = this.blockIndexAt(gpa);
    if (i < 0) return undefined;
    const block = this.blocks[i]!;
    return { block, blockIndex: i, offset: gpa - block.guestAddress };
  }
}
