import { chunkEnd, chunkIndex, extraChunks, registrationRange } from './chunks.js';
import { decodeDestBlocks, decodeRegisterResults, encodeCompress, encodeRegisterCommands } from './control-bodies.js';
import type { ControlSender } from './control-channel.js';
import { ControlType, MERGE_MAX } from './constants.js';
import { applyDestBlocks, type SourceBlock } from './source-blocks.js';
import { blockOf, chunkOf, kindOf, WorkRequestKind, writeIdHigh, writeIdLow } from './work-request-id.js';

/** What the source's RAM path needs from the verbs layer. Blocks are named by their index. */
export interface RdmaWritePort {
  /** Registers bytes [start, end) of the block for this side's writes; returns the lkey. Throws on failure. */
  registerLocal(block: number, start: number, end: number): number;
  isZero(block: number, offset: number, length: number): boolean;
  /**
   * Posts one signalled RDMA WRITE of `length` bytes at `offset` of the block to `remoteAddr` with `rkey`;
   * false when the send queue is full (post again after a completion).
   */
  postWrite(
    block: number, offset: number, length: number, lkey: number, remoteAddr: number, rkey: number, idLow: number, idHigh: number,
  ): boolean;
  /** Calls `done` for each write completion already there, returns how many; throws on a failed one. */
  pollWrites(done: (idLow: number, idHigh: number) => void): number;
  /** Resolves when completions may have arrived. */
  waitForCompletions(): Promise<void>;
}

export interface RamWriterStats {
  /** RDMA WRITEs posted and the bytes they carry. */
  writes: number;
  writtenBytes: number;
  /** Spans sent as COMPRESS (zero) instead of written. */
  zeroSpans: number;
  zeroBytes: number;
  /** REGISTER_REQUESTs sent. */
  registrations: number;
}

/**
 * The source's RAM data path (QEMU's save_page hook, write_one and registration_stop): pages are merged
 * into spans (contiguous, one block, never past the span's first chunk), a span goes as one RDMA WRITE
 * into the destination's registered memory. Without pin-all a chunk is registered on the destination on
 * its first write (REGISTER_REQUEST/RESULT), and a first write that is all zero goes as COMPRESS instead.
 *
 * `addPage` and `flush` return undefined when nothing had to wait, else a promise the caller must await
 * before the next call (a registration exchange, a chunk or a send queue that is busy).
 */
export class RdmaRamWriter {
  readonly #blocks: readonly SourceBlock[];
  readonly #sender: ControlSender;
  readonly #port: RdmaWritePort;
  readonly #pinAll: boolean;
  #spanBlock = -1;
  #spanStart = 0;
  #spanLength = 0;
  #outstanding = 0;
  readonly stats: RamWriterStats = { writes: 0, writtenBytes: 0, zeroSpans: 0, zeroBytes: 0, registrations: 0 };
  readonly #completed = (idLow: number, idHigh: number): void => {
    if (kindOf(idLow) !== WorkRequestKind.RDMA_WRITE) return;
    const block = this.#blocks[blockOf(idLow)];
    if (block !== undefined) block.inFlight[chunkOf(idLow, idHigh)] = 0;
    if (this.#outstanding > 0) this.#outstanding--;
  };

  constructor(blocks: readonly SourceBlock[], sender: ControlSender, port: RdmaWritePort, pinAll: boolean) {
    this.#blocks = blocks;
    this.#sender = sender;
    this.#port = port;
    this.#pinAll = pinAll;
  }

  get pinAll(): boolean {
    return this.#pinAll;
  }

  /** RDMA WRITEs posted and not yet completed. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** RAM setup: RAM_BLOCKS_REQUEST/RESULT; with pin-all this side registers every block while it waits. */
  async exchangeBlocks(): Promise<void> {
    const reply = await this.#sender.request(ControlType.RAM_BLOCKS_REQUEST, undefined, ControlType.RAM_BLOCKS_RESULT, 1, () => {
      if (!this.#pinAll) return;
      for (const block of this.#blocks) block.wholeLkey = this.#port.registerLocal(block.index, 0, block.length);
    });
    applyDestBlocks(this.#blocks, decodeDestBlocks(reply.body));
  }

  /** One page saved by the RAM code: merged into the current span, or the span is written and a new one begun. */
  addPage(block: number, offset: number, length: number): Promise<void> | undefined {
    this.#checkPage(block, offset, length);
    if (this.#mergeable(block, offset, length)) {
      this.#spanLength += length;
      return this.#spanLength >= MERGE_MAX ? this.flush() : undefined;
    }
    const flushing = this.flush();
    if (flushing !== undefined) return this.#startAfter(flushing, block, offset, length);
    this.#startSpan(block, offset, length);
    return undefined;
  }

  async #startAfter(flushing: Promise<void>, block: number, offset: number, length: number): Promise<void> {
    await flushing;
    this.#startSpan(block, offset, length);
  }

  #checkPage(block: number, offset: number, length: number): void {
    const info = this.#blocks[block];
    if (info === undefined) throw new RangeError(`RDMA page write: no RAM block ${block} (there are ${this.#blocks.length})`);
    if (!(offset >= 0 && length > 0 && offset + length <= info.length)) {
      throw new RangeError(`RDMA page write: ${length} bytes at ${offset} are outside block ${info.name} (${info.length} bytes)`);
    }
  }

  #mergeable(block: number, offset: number, length: number): boolean {
    if (this.#spanLength === 0 || block !== this.#spanBlock || offset !== this.#spanStart + this.#spanLength) return false;
    const info = this.#blocks[block]!;
    return offset + length <= chunkEnd(chunkIndex(this.#spanStart), info.length);
  }

  #startSpan(block: number, offset: number, length: number): void {
    this.#spanBlock = block;
    this.#spanStart = offset;
    this.#spanLength = length;
  }

  /** Writes the current span, if any. */
  flush(): Promise<void> | undefined {
    if (this.#spanLength === 0) return undefined;
    const block = this.#blocks[this.#spanBlock]!;
    const start = this.#spanStart;
    const length = this.#spanLength;
    this.#spanLength = 0;
    this.#port.pollWrites(this.#completed);
    if (this.#tryPost(block, start, length)) return undefined;
    return this.#postSlowly(block, start, length);
  }

  /** The fast path: the chunk is free and registered on both sides, and the send queue has room. */
  #tryPost(block: SourceBlock, start: number, length: number): boolean {
    const chunk = chunkIndex(start);
    if (block.inFlight[chunk] === 1) return false;
    const rkey = this.#pinAll ? block.remoteRkey : block.remoteKeys[chunk]!;
    if (!this.#pinAll && rkey === 0) return false;
    const lkey = this.#localKey(block, chunk, length);
    const remoteAddr = block.remoteHostAddr + start;
    if (!this.#port.postWrite(block.index, start, length, lkey, remoteAddr, rkey, writeIdLow(block.index, chunk), writeIdHigh(chunk))) {
      return false;
    }
    block.inFlight[chunk] = 1;
    this.#outstanding++;
    this.stats.writes++;
    this.stats.writtenBytes += length;
    return true;
  }

  #localKey(block: SourceBlock, chunk: number, length: number): number {
    if (block.wholeLkey !== undefined) return block.wholeLkey;
    if (block.localRegistered[chunk] === 0) {
      const range = registrationRange(chunk, extraChunks(length), block.length);
      block.localKeys[chunk] = this.#port.registerLocal(block.index, range.start, range.end);
      block.localRegistered[chunk] = 1;
    }
    return block.localKeys[chunk]!;
  }

  async #postSlowly(block: SourceBlock, start: number, length: number): Promise<void> {
    const chunk = chunkIndex(start);
    while (block.inFlight[chunk] === 1) await this.#awaitCompletion();
    if (!this.#pinAll && block.remoteKeys[chunk] === 0) {
      if (this.#port.isZero(block.index, start, length)) {
        await this.#sender.send(ControlType.COMPRESS, encodeCompress({ value: 0, blockIndex: block.index, offset: block.destOffset + start, length }));
        this.stats.zeroSpans++;
        this.stats.zeroBytes += length;
        return;
      }
      await this.#register(block, chunk, start, length);
    }
    while (!this.#tryPost(block, start, length)) {
      // a full send queue frees up as writes complete; with none in flight it never would
      if (this.#outstanding === 0) throw new Error(`RDMA WRITE of ${length} bytes at ${start} of block ${block.name}: the send queue is full with no write in flight`);
      await this.#awaitCompletion();
    }
  }

  async #register(block: SourceBlock, chunk: number, start: number, length: number): Promise<void> {
    const command = { key: block.destOffset + start, blockIndex: block.index, chunks: extraChunks(length) };
    const reply = await this.#sender.request(
      ControlType.REGISTER_REQUEST, encodeRegisterCommands([command]), ControlType.REGISTER_RESULT, 1,
      () => this.#localKey(block, chunk, length), // register this side while the request is out
    );
    const result = decodeRegisterResults(reply.body)[0]!;
    block.remoteKeys[chunk] = result.rkey;
    block.remoteHostAddr = result.hostAddr;
    this.stats.registrations++;
  }

  /** Waits until at least one completion was taken. */
  async #awaitCompletion(): Promise<void> {
    while (this.#port.pollWrites(this.#completed) === 0) await this.#port.waitForCompletions();
  }

  /** Every posted write completed (QEMU drains the queue at the end of each iteration). */
  async drain(): Promise<void> {
    await this.flush();
    this.#port.pollWrites(this.#completed);
    while (this.#outstanding > 0) await this.#awaitCompletion();
  }

  /**
   * The end of one RAM iteration (QEMU's registration_stop): the span written, every write completed, at
   * setup the block exchange, then REGISTER_FINISHED.
   */
  async finishIteration(setup: boolean): Promise<void> {
    await this.drain();
    if (setup) await this.exchangeBlocks();
    await this.#sender.send(ControlType.REGISTER_FINISHED);
  }
}
