// Test doubles for the RDMA protocol layer: a control link pair (what one side SENDs the other receives,
// in order) and a fake RDMA world where a source port's RDMA WRITE lands in the destination's memory only
// through a registration that covers it, as a real NIC would allow.
import type { ControlLink, RdmaRegisterPort, RdmaWritePort } from '../src/rdma/protocol/index.js';
import { RdmaDisconnectedError } from '../src/rdma/protocol/index.js';

class Queue {
  readonly items: Uint8Array[] = [];
  readonly waiters: { resolve: (m: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  closed: Error | undefined;
  push(message: Uint8Array): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter.resolve(message);
    else this.items.push(message);
  }
  take(): Promise<Uint8Array> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.closed !== undefined) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
  close(err: Error): void {
    this.closed = err;
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }
}

export interface RecordingLink extends ControlLink {
  /** Every message this side sent, copied. */
  readonly sent: Uint8Array[];
  disconnect(): void;
}

/** Two connected control links; `disconnect()` on either ends both (receives reject as a DISCONNECTED would). */
export function linkPair(): [RecordingLink, RecordingLink] {
  const toA = new Queue();
  const toB = new Queue();
  const disconnect = (): void => {
    toA.close(new RdmaDisconnectedError());
    toB.close(new RdmaDisconnectedError());
  };
  const make = (inbox: Queue, outbox: Queue): RecordingLink => {
    const sent: Uint8Array[] = [];
    return {
      sent,
      disconnect,
      send: async (message) => {
        if (outbox.closed !== undefined) throw outbox.closed;
        sent.push(message.slice());
        outbox.push(message.slice());
      },
      receive: () => inbox.take(),
    };
  };
  return [make(toA, toB), make(toB, toA)];
}

interface Registration {
  block: number;
  start: number;
  end: number;
}

export const HOST_BASE = 0x7f00_0000_0000;
const hostAddressOf = (block: number): number => HOST_BASE + block * 2 ** 32;

/** The destination's memory and its registrations. */
export class FakeDestination implements RdmaRegisterPort {
  readonly memory: Uint8Array[];
  readonly registrations = new Map<number, Registration>();
  readonly unregistered: { block: number; chunk: number }[] = [];
  readonly zeroed: { block: number; offset: number; length: number }[] = [];
  #nextKey = 0x100;

  constructor(lengths: readonly number[]) {
    this.memory = lengths.map((length) => new Uint8Array(length).fill(0xee)); // not zero: COMPRESS must zero it
  }

  registerRemote(block: number, start: number, end: number): number {
    const rkey = this.#nextKey++;
    this.registrations.set(rkey, { block, start, end });
    return rkey;
  }

  unregister(block: number, chunk: number): void {
    this.unregistered.push({ block, chunk });
  }

  hostAddress(block: number): number {
    return hostAddressOf(block);
  }

  fillZero(block: number, offset: number, length: number): void {
    this.zeroed.push({ block, offset, length });
    this.memory[block]!.fill(0, offset, offset + length);
  }

  /** What the NIC does with an incoming RDMA WRITE: only into a registration that covers it. */
  land(bytes: Uint8Array, remoteAddr: number, rkey: number): void {
    const registration = this.registrations.get(rkey);
    if (registration === undefined) throw new Error(`remote access error: rkey 0x${rkey.toString(16)} is not registered`);
    const at = remoteAddr - hostAddressOf(registration.block);
    if (at < registration.start || at + bytes.byteLength > registration.end) {
      throw new Error(`remote access error: ${bytes.byteLength} bytes at ${at} outside [${registration.start}, ${registration.end}) of rkey 0x${rkey.toString(16)}`);
    }
    this.memory[registration.block]!.set(bytes, at);
  }
}

/**
 * The source's memory and send queue. Writes complete when the test (or `waitForCompletions`) says so;
 * the send queue holds `queueDepth` writes.
 */
export class FakeSource implements RdmaWritePort {
  readonly memory: Uint8Array[];
  readonly localRegistrations: Registration[] = [];
  readonly posted: { block: number; offset: number; length: number; remoteAddr: number; rkey: number }[] = [];
  readonly #inFlight: [number, number][] = [];
  readonly #done: [number, number][] = [];
  #fullOnce = 0;
  /** Refuse posts even with no write in flight (a broken queue). */
  refuseWhenIdle = false;

  constructor(
    memory: Uint8Array[],
    readonly destination: FakeDestination,
    readonly queueDepth = 4,
  ) {
    this.memory = memory;
  }

  /** The next `count` posts find the queue full whatever its depth. */
  refuseNextPosts(count: number): void {
    this.#fullOnce = count;
  }

  registerLocal(block: number, start: number, end: number): number {
    this.localRegistrations.push({ block, start, end });
    return 0x9000 + this.localRegistrations.length;
  }

  isZero(block: number, offset: number, length: number): boolean {
    const bytes = this.memory[block]!;
    for (let i = offset; i < offset + length; i++) if (bytes[i] !== 0) return false;
    return true;
  }

  postWrite(block: number, offset: number, length: number, lkey: number, remoteAddr: number, rkey: number, idLow: number, idHigh: number): boolean {
    if (this.#fullOnce > 0 && (this.#inFlight.length > 0 || this.refuseWhenIdle)) {
      this.#fullOnce--;
      return false;
    }
    if (this.#inFlight.length >= this.queueDepth) return false;
    const covered = this.localRegistrations.some((r, i) => 0x9000 + i + 1 === lkey && r.block === block && offset >= r.start && offset + length <= r.end);
    if (!covered) throw new Error(`local protection error: lkey 0x${lkey.toString(16)} does not cover ${length} bytes at ${offset} of block ${block}`);
    this.destination.land(this.memory[block]!.subarray(offset, offset + length), remoteAddr, rkey);
    this.posted.push({ block, offset, length, remoteAddr, rkey });
    this.#inFlight.push([idLow, idHigh]);
    return true;
  }

  /** Completes the oldest `count` writes in flight. */
  complete(count = this.#inFlight.length): void {
    this.#done.push(...this.#inFlight.splice(0, count));
  }

  get inFlight(): number {
    return this.#inFlight.length;
  }

  pollWrites(done: (idLow: number, idHigh: number) => void): number {
    const taken = this.#done.splice(0);
    for (const [low, high] of taken) done(low, high);
    return taken.length;
  }

  async waitForCompletions(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.complete(1);
  }
}
