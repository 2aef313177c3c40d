import { chunkSlots } from './chunks.js';
import type { DestBlock } from './control-bodies.js';
import { RdmaProtocolError } from './errors.js';

/** A RAM block as the source knows it: its own place, and where it is on the destination. */
export interface RamBlockInfo {
  name: string;
  /** The block's offset in this side's ram_addr_t space. */
  offset: number;
  /** Used length in bytes. */
  length: number;
}

/**
 * The source's per-block bookkeeping (QEMU's RDMALocalBlock): the destination's address and keys, which
 * chunks the destination registered (rkey per chunk, 0 = not yet), which this side registered, and which
 * have an RDMA WRITE in flight. Arrays of one entry per chunk slot, made once.
 */
export class SourceBlock {
  readonly index: number;
  readonly name: string;
  readonly offset: number;
  readonly length: number;
  /** The destination's copy: its ram_addr_t offset, virtual address, and (pin-all) whole-block rkey. */
  destOffset = 0;
  remoteHostAddr = 0;
  remoteRkey = 0;
  /** Per chunk: the destination's rkey, 0 until registered there. */
  readonly remoteKeys: Uint32Array;
  /** Per chunk: this side's lkey, valid where `localRegistered` is 1. */
  readonly localKeys: Uint32Array;
  readonly localRegistered: Uint8Array;
  /** Per chunk: 1 while an RDMA WRITE into it has not completed. */
  readonly inFlight: Uint8Array;
  /** Pin-all: the lkey of the whole block's registration, or undefined. */
  wholeLkey: number | undefined;

  constructor(index: number, info: RamBlockInfo) {
    this.index = index;
    this.name = info.name;
    this.offset = info.offset;
    this.length = info.length;
    const slots = chunkSlots(info.length);
    this.remoteKeys = new Uint32Array(slots);
    this.localKeys = new Uint32Array(slots);
    this.localRegistered = new Uint8Array(slots);
    this.inFlight = new Uint8Array(slots);
  }

  get chunkCount(): number {
    return this.remoteKeys.length;
  }
}

export function sourceBlocks(blocks: readonly RamBlockInfo[]): SourceBlock[] {
  return blocks.map((info, index) => new SourceBlock(index, info));
}

/**
 * Takes the destination's RAM_BLOCKS_RESULT: the same number of blocks, each of the same length, in the
 * same order (QEMU's checks and words).
 */
export function applyDestBlocks(blocks: readonly SourceBlock[], dest: readonly DestBlock[]): void {
  if (blocks.length !== dest.length) {
    throw new RdmaProtocolError(
      `ram blocks mismatch (Number of blocks ${blocks.length} vs ${dest.length}) Your QEMU command line parameters are probably not identical on both the source and destination.`,
      'RAM_BLOCKS_RESULT',
      16,
    );
  }
  blocks.forEach((block, i) => {
    const remote = dest[i]!;
    if (remote.length !== block.length) {
      throw new RdmaProtocolError(
        `Block ${block.name}/${i} has a different length ${block.length} vs ${remote.length}`, 'RAM_BLOCKS_RESULT', 16 + i * 32 + 16,
      );
    }
    block.destOffset = remote.offset;
    block.remoteHostAddr = remote.remoteHostAddr;
    block.remoteRkey = remote.remoteRkey;
  });
}
