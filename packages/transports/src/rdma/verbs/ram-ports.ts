import type { RdmaRegisterPort } from '../protocol/dest-registrations.js';
import type { RdmaWritePort } from '../protocol/ram-writer.js';
import type { RdmaConnection } from './connection.js';
import type { MemoryRegion } from './queue-pair.js';
import { IBV_ACCESS_LOCAL_WRITE, IBV_ACCESS_REMOTE_WRITE, IBV_WR_RDMA_WRITE } from './structs.js';

/** ENOMEM from ibv_post_send: the send queue is full. */
const ENOMEM = 12;

/**
 * The RAM path's ports over a real connection. Guest RAM is one Uint8Array per block whose memory never
 * moves (a SharedArrayBuffer, or C memory from koffi): registrations pin it where it is.
 */
export class VerbsWritePort implements RdmaWritePort {
  readonly #connection: RdmaConnection;
  readonly #memory: readonly Uint8Array[];
  /** Each block's base address, once. */
  readonly #base: number[];

  constructor(connection: RdmaConnection, memory: readonly Uint8Array[]) {
    this.#connection = connection;
    this.#memory = memory;
    this.#base = memory.map((bytes) => connection.verbs.addressOf(bytes));
  }

  registerLocal(block: number, start: number, end: number): number {
    // QEMU's source grants its chunks no remote access; pin-all registers whole blocks with LOCAL_WRITE | REMOTE_WRITE
    const access = start === 0 && end === this.#memory[block]!.byteLength ? IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE : 0;
    return this.#connection.qp.register(this.#memory[block]!.subarray(start, end), end - start, access).lkey;
  }

  isZero(block: number, offset: number, length: number): boolean {
    const bytes = this.#memory[block]!;
    const words = offset % 8 === 0 && length % 8 === 0 ? new BigUint64Array(bytes.buffer, bytes.byteOffset + offset, length / 8) : undefined;
    if (words !== undefined) {
      for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
      return true;
    }
    for (let i = offset; i < offset + length; i++) if (bytes[i] !== 0) return false;
    return true;
  }

  postWrite(block: number, offset: number, length: number, lkey: number, remoteAddr: number, rkey: number, idLow: number, idHigh: number): boolean {
    const status = this.#connection.qp.postSend(IBV_WR_RDMA_WRITE, idLow, idHigh, this.#base[block]! + offset, length, lkey, remoteAddr, rkey);
    if (status === ENOMEM) return false;
    if (status !== 0) throw new Error(`ibv_post_send of an RDMA WRITE failed (${status})`);
    return true;
  }

  pollWrites(done: (idLow: number, idHigh: number) => void): number {
    const failure = this.#connection.link.failure;
    if (failure !== undefined) throw failure;
    return this.#connection.link.takeWriteCompletions(done);
  }

  waitForCompletions(): Promise<void> {
    return this.#connection.link.whenCompletions();
  }
}

export class VerbsRegisterPort implements RdmaRegisterPort {
  readonly #connection: RdmaConnection;
  readonly #memory: readonly Uint8Array[];
  readonly #chunks = new Map<string, MemoryRegion>();

  constructor(connection: RdmaConnection, memory: readonly Uint8Array[]) {
    this.#connection = connection;
    this.#memory = memory;
  }

  registerRemote(block: number, start: number, end: number): number {
    const region = this.#connection.qp.register(this.#memory[block]!.subarray(start, end), end - start, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
    if (start % (1 << 20) === 0) this.#chunks.set(`${block}:${start >>> 20}`, region);
    return region.rkey;
  }

  unregister(block: number, chunk: number): void {
    const region = this.#chunks.get(`${block}:${chunk}`);
    if (region === undefined) return;
    this.#chunks.delete(`${block}:${chunk}`);
    this.#connection.qp.deregister(region);
  }

  hostAddress(block: number): number {
    return this.#connection.verbs.addressOf(this.#memory[block]!);
  }

  fillZero(block: number, offset: number, length: number): void {
    this.#memory[block]!.fill(0, offset, offset + length);
  }
}

