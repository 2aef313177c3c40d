import { COMPRESS_BYTES, CONTROL_HEADER_BYTES, DEST_BLOCK_BYTES, REGISTER_BYTES, REGISTER_RESULT_BYTES } from './constants.js';
import { readU64, viewOf, writeU32, writeU64 } from './wire.js';

/**
 * The bodies of the control messages, packed big-endian as QEMU 7.2 lays them out (docs/qemu-rdma-migration.md).
 * Decoders take the body of a message `decodeControlMessage` already checked for size; offsets in errors
 * count from the start of the message (the header is 16 bytes).
 */

/** RAM_BLOCKS_RESULT: one per destination RAM block, in the source's block order. */
export interface DestBlock {
  /** The block's virtual address in the destination process. */
  remoteHostAddr: number;
  /** The block's offset in the destination's ram_addr_t space. */
  offset: number;
  length: number;
  /** The whole block's rkey with pin-all; 0 otherwise. */
  remoteRkey: number;
}

/** REGISTER_REQUEST / UNREGISTER_REQUEST. */
export interface RegisterCommand {
  /** A RAM block: an address in the destination's ram_addr_t space; unregister: the chunk number. */
  key: number;
  blockIndex: number;
  /** Chunks after the first to register too. */
  chunks: number;
}

/** COMPRESS: fill `length` bytes at `offset` (destination ram_addr_t space) of block `blockIndex` with `value`. */
export interface CompressCommand {
  value: number;
  blockIndex: number;
  offset: number;
  length: number;
}

/** REGISTER_RESULT. */
export interface RegisterResult {
  rkey: number;
  /** The destination block's base virtual address. */
  hostAddr: number;
}

export function encodeDestBlocks(blocks: readonly DestBlock[]): Uint8Array {
  const out = new Uint8Array(blocks.length * DEST_BLOCK_BYTES);
  const view = viewOf(out);
  blocks.forEach((block, i) => {
    const at = i * DEST_BLOCK_BYTES;
    writeU64(view, at, block.remoteHostAddr, 'remote_host_addr');
    writeU64(view, at + 8, block.offset, 'offset');
    writeU64(view, at + 16, block.length, 'length');
    writeU32(view, at + 24, block.remoteRkey, 'remote_rkey');
  });
  return out;
}

export function decodeDestBlocks(body: Uint8Array): DestBlock[] {
  const view = viewOf(body);
  const record = 'RAM_BLOCKS_RESULT';
  const blocks: DestBlock[] = [];
  for (let at = 0; at + DEST_BLOCK_BYTES <= body.byteLength; at += DEST_BLOCK_BYTES) {
    blocks.push({
      remoteHostAddr: readU64(view, at, 'remote_host_addr', record, CONTROL_HEADER_BYTES),
      offset: readU64(view, at + 8, 'offset', record, CONTROL_HEADER_BYTES),
      length: readU64(view, at + 16, 'length', record, CONTROL_HEADER_BYTES),
      remoteRkey: view.getUint32(at + 24),
    });
  }
  return blocks;
}

export function encodeRegisterCommands(commands: readonly RegisterCommand[]): Uint8Array {
  const out = new Uint8Array(commands.length * REGISTER_BYTES);
  const view = viewOf(out);
  commands.forEach((command, i) => {
    const at = i * REGISTER_BYTES;
    writeU64(view, at, command.key, 'key');
    writeU32(view, at + 8, command.blockIndex, 'current_index');
    writeU64(view, at + 16, command.chunks, 'chunks');
  });
  return out;
}

export function decodeRegisterCommands(body: Uint8Array, record = 'REGISTER_REQUEST'): RegisterCommand[] {
  const view = viewOf(body);
  const commands: RegisterCommand[] = [];
  for (let at = 0; at + REGISTER_BYTES <= body.byteLength; at += REGISTER_BYTES) {
    commands.push({
      key: readU64(view, at, 'key', record, CONTROL_HEADER_BYTES),
      blockIndex: view.getUint32(at + 8),
      chunks: readU64(view, at + 16, 'chunks', record, CONTROL_HEADER_BYTES),
    });
  }
  return commands;
}

export function encodeCompress(command: CompressCommand): Uint8Array {
  const out = new Uint8Array(COMPRESS_BYTES);
  const view = viewOf(out);
  writeU32(view, 0, command.value, 'value');
  writeU32(view, 4, command.blockIndex, 'block_idx');
  writeU64(view, 8, command.offset, 'offset');
  writeU64(view, 16, command.length, 'length');
  return out;
}

export function decodeCompress(body: Uint8Array): CompressCommand {
  const view = viewOf(body);
  return {
    value: view.getUint32(0),
    blockIndex: view.getUint32(4),
    offset: readU64(view, 8, 'offset', 'COMPRESS', CONTROL_HEADER_BYTES),
    length: readU64(view, 16, 'length', 'COMPRESS', CONTROL_HEADER_BYTES),
  };
}

export function encodeRegisterResults(results: readonly RegisterResult[]): Uint8Array {
  const out = new Uint8Array(results.length * REGISTER_RESULT_BYTES);
  const view = viewOf(out);
  results.forEach((result, i) => {
    const at = i * REGISTER_RESULT_BYTES;
    writeU32(view, at, result.rkey, 'rkey');
    writeU64(view, at + 8, result.hostAddr, 'host_addr');
  });
  return out;
}

export function decodeRegisterResults(body: Uint8Array): RegisterResult[] {
  const view = viewOf(body);
  const results: RegisterResult[] = [];
  for (let at = 0; at + REGISTER_RESULT_BYTES <= body.byteLength; at += REGISTER_RESULT_BYTES) {
    results.push({ rkey: view.getUint32(at), hostAddr: readU64(view, at + 8, 'host_addr', 'REGISTER_RESULT', CONTROL_HEADER_BYTES) });
  }
  return results;
}
