import { chunkIndex, chunkSlots, registrationRange } from './chunks.js';
import {
  decodeCompress, decodeRegisterCommands, encodeDestBlocks, encodeRegisterResults, type RegisterResult,
} from './control-bodies.js';
import type { ControlReceiver } from './control-channel.js';
import { CHUNK_BYTES, ControlType, controlTypeName } from './constants.js';
import type { ControlMessage } from './control-message.js';
import { RdmaProtocolError } from './errors.js';
import type { RamBlockInfo } from './source-blocks.js';

/** What the destination's registration handler needs from the verbs layer; blocks by this side's own index. */
export interface RdmaRegisterPort {
  /** Registers bytes [start, end) of the block for the peer's RDMA WRITEs; returns the rkey. */
  registerRemote(block: number, start: number, end: number): number;
  /** Drops the registration of one chunk made by `registerRemote`. */
  unregister(block: number, chunk: number): void;
  /** The block's base virtual address in this process. */
  hostAddress(block: number): number;
  /** Zeroes `length` bytes at `offset` of the block (COMPRESS with value 0). */
  fillZero(block: number, offset: number, length: number): void;
}

const NOT_NAMED = 0xffffffff;

class DestinationBlock {
  sourceIndex = NOT_NAMED;
  readonly chunkRkeys: Uint32Array;
  readonly registered: Uint8Array;
  wholeRkey = 0;
  constructor(
    readonly localIndex: number,
    readonly info: RamBlockInfo,
  ) {
    const slots = chunkSlots(info.length);
    this.chunkRkeys = new Uint32Array(slots);
    this.registered = new Uint8Array(slots);
  }
}

/**
 * The destination's side of registration (QEMU's registration_handle and block notification): learns the
 * source's block order from the stream's block list, answers RAM_BLOCKS_REQUEST, registers chunks on
 * REGISTER_REQUEST, zeroes ranges on COMPRESS, until REGISTER_FINISHED.
 */
export class DestinationRegistrations {
  readonly #blocks: DestinationBlock[];
  /** The blocks in the shared order once RAM_BLOCKS_REQUEST came; the indices of the commands refer to it. */
  #order: DestinationBlock[];
  #nextSourceIndex = 0;
  readonly #port: RdmaRegisterPort;
  readonly #pinAll: boolean;

  constructor(blocks: readonly RamBlockInfo[], port: RdmaRegisterPort, pinAll: boolean) {
    this.#blocks = blocks.map((info, i) => new DestinationBlock(i, info));
    this.#order = this.#blocks;
    this.#port = port;
    this.#pinAll = pinAll;
  }

  /** A block named in the RAM section's block list, in the source's order (QEMU's words when unknown). */
  noteSourceBlock(name: string): void {
    const block = this.#blocks.find((b) => b.info.name === name);
    if (block === undefined) throw new RdmaProtocolError(`RAMBlock '${name}' not found on destination`, 'ram block list', 0);
    block.sourceIndex = this.#nextSourceIndex++;
  }

  /** Handles control messages until REGISTER_FINISHED (one RAM iteration's worth). */
  async handleUntilFinished(receiver: ControlReceiver): Promise<void> {
    for (;;) {
      const message = await receiver.receive();
      if (message.type === ControlType.REGISTER_FINISHED) return;
      await this.handle(message, receiver);
    }
  }

  async handle(message: ControlMessage, receiver: ControlReceiver): Promise<void> {
    switch (message.type) {
      case ControlType.COMPRESS:
        this.#compress(message.body);
        return;
      case ControlType.RAM_BLOCKS_REQUEST:
        await receiver.reply(ControlType.RAM_BLOCKS_RESULT, this.#ramBlocks());
        return;
      case ControlType.REGISTER_REQUEST:
        await receiver.reply(ControlType.REGISTER_RESULT, encodeRegisterResults(this.#register(message.body)), message.repeat);
        return;
      case ControlType.UNREGISTER_REQUEST:
        this.#unregister(message.body);
        await receiver.reply(ControlType.UNREGISTER_FINISHED, undefined, message.repeat);
        return;
      default:
        throw new RdmaProtocolError(`unexpected ${controlTypeName(message.type)} control message at the destination`, controlTypeName(message.type), 4);
    }
  }

  #block(index: number, what: string): DestinationBlock {
    const block = this.#order[index];
    if (block === undefined) {
      throw new RdmaProtocolError(`rdma: '${what}' bad block index ${index} (vs ${this.#order.length})`, what === 'compress' ? 'COMPRESS' : 'REGISTER_REQUEST', 16 + (what === 'compress' ? 4 : 8));
    }
    return block;
  }

  #compress(body: Uint8Array): void {
    const command = decodeCompress(body);
    const block = this.#block(command.blockIndex, 'compress');
    if (command.value !== 0) throw new RdmaProtocolError(`rdma: Zero page with non-zero (${command.value}) value`, 'COMPRESS', 16);
    const at = command.offset - block.info.offset;
    if (at < 0 || at + command.length > block.info.length) {
      throw new RdmaProtocolError(
        `COMPRESS: ${command.length} bytes at 0x${command.offset.toString(16)} are outside block ${block.info.name}`, 'COMPRESS', 24,
      );
    }
    this.#port.fillZero(block.localIndex, at, command.length);
  }

  #ramBlocks(): Uint8Array {
    this.#order = [...this.#blocks].sort((a, b) => a.sourceIndex - b.sourceIndex);
    if (this.#pinAll) {
      for (const block of this.#order) block.wholeRkey = this.#port.registerRemote(block.localIndex, 0, block.info.length);
    }
    return encodeDestBlocks(this.#order.map((block) => ({
      remoteHostAddr: this.#port.hostAddress(block.localIndex),
      offset: block.info.offset,
      length: block.info.length,
      remoteRkey: this.#pinAll ? block.wholeRkey : 0,
    })));
  }

  #register(body: Uint8Array): RegisterResult[] {
    return decodeRegisterCommands(body).map((command, i) => {
      const block = this.#block(command.blockIndex, 'register');
      const at = command.key - block.info.offset;
      if (at < 0) {
        throw new RdmaProtocolError(
          `rdma: bad register address for block ${block.info.name} offset: ${block.info.offset.toString(16)} current_addr: ${command.key.toString(16)}`,
          'REGISTER_REQUEST', 16 + i * 24,
        );
      }
      const chunk = chunkIndex(at);
      if (chunk >= block.chunkRkeys.length || command.chunks >= block.chunkRkeys.length) {
        throw new RdmaProtocolError(
          `REGISTER_REQUEST: chunk ${chunk} (+${command.chunks}) is outside block ${block.info.name} (${block.chunkRkeys.length} chunks of ${CHUNK_BYTES})`,
          'REGISTER_REQUEST', 16 + i * 24,
        );
      }
      return { rkey: this.#chunkRkey(block, chunk, command.chunks), hostAddr: this.#port.hostAddress(block.localIndex) };
    });
  }

  #chunkRkey(block: DestinationBlock, chunk: number, extra: number): number {
    if (block.wholeRkey !== 0) return block.wholeRkey;
    if (block.registered[chunk] === 0) {
      const range = registrationRange(chunk, extra, block.info.length);
      block.chunkRkeys[chunk] = this.#port.registerRemote(block.localIndex, range.start, range.end);
      block.registered[chunk] = 1;
    }
    return block.chunkRkeys[chunk]!;
  }

  #unregister(body: Uint8Array): void {
    for (const command of decodeRegisterCommands(body, 'UNREGISTER_REQUEST')) {
      const block = this.#block(command.blockIndex, 'unregister');
      if (command.key >= block.registered.length || block.registered[command.key] === 0) continue;
      this.#port.unregister(block.localIndex, command.key);
      block.registered[command.key] = 0;
      block.chunkRkeys[command.key] = 0;
    }
  }

  /** How many chunk registrations are held (tests and stats). */
  get registeredChunks(): number {
    return this.#blocks.reduce((sum, block) => sum + block.registered.reduce((n, r) => n + r, 0), 0);
  }
}
