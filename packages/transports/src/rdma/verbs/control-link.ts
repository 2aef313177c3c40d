import { CONTROL_MAX_BUFFER } from '../protocol/constants.js';
import { RdmaDisconnectedError } from '../protocol/errors.js';
import type { ControlLink } from '../protocol/control-channel.js';
import { WorkRequestKind } from '../protocol/work-request-id.js';
import { FdWatcher, setNonBlocking } from './fd-watch.js';
import type { Pointer, VerbsLibrary } from './library.js';
import { RECEIVE_DEPTH, type MemoryRegion, type QueuePair } from './queue-pair.js';
import { IBV_ACCESS_LOCAL_WRITE, IBV_WC_SUCCESS, IBV_WR_SEND } from './structs.js';

/** A work request flushed because the queue pair went to the error state (the peer disconnected). */
const IBV_WC_WR_FLUSH_ERR = 5;

interface Buffer512 {
  memory: Pointer;
  bytes: Uint8Array;
  region: MemoryRegion;
}

/**
 * The control channel over one queue pair: a registered 512 KiB send buffer and RECEIVE_DEPTH receive
 * buffers kept posted; completions come from the completion channel's descriptor on node's event loop.
 * RDMA WRITE completions are counted for the RAM path (`takeWriteCompletions`).
 */
export class VerbsControlLink implements ControlLink {
  readonly #verbs: VerbsLibrary;
  readonly #qp: QueuePair;
  readonly #send: Buffer512;
  readonly #receive: Buffer512[];
  readonly #watcher: FdWatcher;
  /** Slots whose message arrived, in order, with their byte counts. */
  readonly #arrived: [slot: number, length: number][] = [];
  /** The slot handed out by the last `receive`: posted again on the next call. */
  #lent = -1;
  #receiveWaiter: { resolve: (bytes: Uint8Array) => void; reject: (err: Error) => void } | undefined;
  #sendWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #failure: Error | undefined;
  readonly #writeCompletions: number[] = [];
  #onCompletions: (() => void) | undefined;
  #closed = false;

  constructor(verbs: VerbsLibrary, qp: QueuePair) {
    this.#verbs = verbs;
    this.#qp = qp;
    this.#send = this.#buffer();
    this.#receive = Array.from({ length: RECEIVE_DEPTH }, () => this.#buffer());
    setNonBlocking(verbs, qp.compFd);
    if (qp.requestNotify() !== 0) throw new Error('ibv_req_notify_cq failed');
    this.#watcher = new FdWatcher(verbs, qp.compFd, this.#pump);
  }

  #buffer(): Buffer512 {
    const memory = this.#verbs.koffi.alloc('uint8_t', CONTROL_MAX_BUFFER) as Pointer;
    const bytes = new Uint8Array(this.#verbs.koffi.view(memory, CONTROL_MAX_BUFFER));
    return { memory, bytes, region: this.#qp.register(memory, CONTROL_MAX_BUFFER, IBV_ACCESS_LOCAL_WRITE) };
  }

  /** Posts every receive buffer: before connecting (source) or accepting (destination). */
  postReceives(): void {
    this.#receive.forEach((_, slot) => this.#postReceive(slot));
  }

  #postReceive(slot: number): void {
    const { region } = this.#receive[slot]!;
    const status = this.#qp.postRecv(WorkRequestKind.RECV_CONTROL + slot, region.address, CONTROL_MAX_BUFFER, region.lkey);
    if (status !== 0) throw new Error(`ibv_post_recv failed (${status})`);
  }

  send(message: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#failure ?? new Error('the RDMA control link is closed'));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#sendWaiter !== undefined) return Promise.reject(new Error('RDMA control SEND while another is in flight'));
    this.#send.bytes.set(message);
    const { region } = this.#send;
    const status = this.#qp.postSend(IBV_WR_SEND, WorkRequestKind.SEND_CONTROL, 0, region.address, message.byteLength, region.lkey);
    if (status !== 0) return Promise.reject(new Error(`ibv_post_send of a control message failed (${status})`));
    return new Promise((resolve, reject) => {
      this.#sendWaiter = { resolve, reject };
    });
  }

  receive(): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(this.#failure ?? new Error('the RDMA control link is closed'));
    if (this.#lent >= 0) {
      const slot = this.#lent;
      this.#lent = -1;
      this.#postReceive(slot);
    }
    // after a disconnect, messages that completed before it may still wait in the completion queue
    if (this.#arrived.length === 0 && this.#failure !== undefined) this.#pump();
    const next = this.#arrived.shift();
    if (next !== undefined) return Promise.resolve(this.#lend(next[0], next[1]));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#receiveWaiter = { resolve, reject };
    });
  }

  #lend(slot: number, length: number): Uint8Array {
    this.#lent = slot;
    return this.#receive[slot]!.bytes.subarray(0, length);
  }

  /** RDMA WRITE completions since the last call, as (idLow, idHigh) pairs. */
  takeWriteCompletions(done: (idLow: number, idHigh: number) => void): number {
    const ids = this.#writeCompletions;
    const count = ids.length / 2;
    for (let i = 0; i < ids.length; i += 2) done(ids[i]!, ids[i + 1]!);
    ids.length = 0; // reused: this runs per chunk written
    return count;
  }

  /** Resolves at the next batch of completions (or failure). */
  whenCompletions(): Promise<void> {
    return new Promise((resolve) => {
      this.#onCompletions = resolve;
    });
  }

  readonly #pump = (): void => {
    if (this.#closed) return;
    try {
      while (this.#qp.takeEvent()) {
        if (this.#qp.requestNotify() !== 0) throw new Error('ibv_req_notify_cq failed');
      }
      this.#qp.poll(this.#dispatch);
    } catch (err) {
      this.fail(err as Error);
    }
    const wake = this.#onCompletions;
    this.#onCompletions = undefined;
    wake?.();
  };

  readonly #dispatch = (idLow: number, idHigh: number, status: number, byteLength: number): void => {
    if (status === IBV_WC_WR_FLUSH_ERR) {
      this.disconnected();
      return;
    }
    if (status !== IBV_WC_SUCCESS) {
      this.fail(new Error(`RDMA work request ${idLow} failed: ${this.#qp.statusText(status)} (status ${status})`));
      return;
    }
    const kind = idLow & 0xffff;
    if (kind === WorkRequestKind.SEND_CONTROL) {
      const waiter = this.#sendWaiter;
      this.#sendWaiter = undefined;
      waiter?.resolve();
    } else if (kind >= WorkRequestKind.RECV_CONTROL && kind < WorkRequestKind.RECV_CONTROL + RECEIVE_DEPTH) {
      const waiter = this.#receiveWaiter;
      this.#receiveWaiter = undefined;
      if (waiter !== undefined) waiter.resolve(this.#lend(kind - WorkRequestKind.RECV_CONTROL, byteLength));
      else this.#arrived.push([kind - WorkRequestKind.RECV_CONTROL, byteLength]);
    } else if (kind === WorkRequestKind.RDMA_WRITE) {
      this.#writeCompletions.push(idLow, idHigh);
    }
  };

  /** Fails whatever waits, and every later call: a failed completion, a disconnect. */
  fail(err: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#sendWaiter?.reject(err);
    this.#sendWaiter = undefined;
    this.#receiveWaiter?.reject(err);
    this.#receiveWaiter = undefined;
    this.#onCompletions?.();
  }

  disconnected(): void {
    this.fail(new RdmaDisconnectedError());
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  close(): void {
    if (this.#closed) return;
    this.fail(new Error('the RDMA control link is closed'));
    this.#closed = true;
    this.#watcher.close();
    for (const buffer of [this.#send, ...this.#receive]) {
      this.#qp.deregister(buffer.region);
      this.#verbs.koffi.free(buffer.memory);
    }
  }
}
