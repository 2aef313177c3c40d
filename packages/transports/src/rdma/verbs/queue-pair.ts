import { SIGNALED_SEND_MAX } from '../protocol/constants.js';
import type { Pointer, VerbsLibrary } from './library.js';
import {
  CmIdOffset, CompChannelOffset, ContextOffset, IBV_QPT_RC, IBV_SEND_SIGNALED, MrOffset, QP_INIT_ATTR_BYTES, QpInitAttrOffset,
  RECV_WR_BYTES, RecvWrOffset, SEND_WR_BYTES, SendWrOffset, SGE_BYTES, WC_BYTES, WcOffset,
} from './structs.js';

/** Receives kept posted: the peer's next messages always find one (QEMU posts 3 receive work requests). */
export const RECEIVE_DEPTH = 3;
const POLL_BATCH = 32;

/** A registered memory region: its handle, keys and address. */
export interface MemoryRegion {
  mr: Pointer;
  lkey: number;
  rkey: number;
  address: number;
}

/**
 * One RC queue pair with its protection domain, completion channel and completion queue, and the
 * preallocated C structs the posts use (no allocation per post). Thin: each method is one verbs call.
 */
export class QueuePair {
  readonly pd: Pointer;
  readonly compChannel: Pointer;
  readonly compFd: number;
  readonly cq: Pointer;
  readonly qp: Pointer;
  readonly #verbs: VerbsLibrary;
  readonly #id: Pointer;
  readonly #pollCq: (cq: Pointer, n: number, wc: Pointer) => number;
  readonly #reqNotifyCq: (cq: Pointer, solicitedOnly: number) => number;
  readonly #postSend: (qp: Pointer, wr: Pointer, bad: [Pointer | null]) => number;
  readonly #postRecv: (qp: Pointer, wr: Pointer, bad: [Pointer | null]) => number;
  readonly #sendWr: Pointer;
  readonly #sendView: DataView;
  readonly #recvWr: Pointer;
  readonly #recvView: DataView;
  readonly #badWr: [Pointer | null] = [null];
  readonly #wc: Pointer;
  readonly #wcView: DataView;
  readonly #regions: MemoryRegion[] = [];

  constructor(verbs: VerbsLibrary, id: Pointer) {
    const { koffi } = verbs;
    this.#verbs = verbs;
    this.#id = id;
    const context = koffi.decode(id, CmIdOffset.verbs, 'void *') as Pointer;
    // the inline ibv_* calls of verbs.h go through the context's ops table: the same pointers, called directly
    const op = (offset: number, proto: unknown): never => koffi.decode(koffi.decode(context, offset, 'void *'), proto as never) as never;
    this.#pollCq = op(ContextOffset.pollCq, verbs.protos.pollCq);
    this.#reqNotifyCq = op(ContextOffset.reqNotifyCq, verbs.protos.reqNotifyCq);
    this.#postSend = op(ContextOffset.postSend, verbs.protos.postSend);
    this.#postRecv = op(ContextOffset.postRecv, verbs.protos.postRecv);
    this.pd = must(verbs.ibv_alloc_pd(context), 'ibv_alloc_pd (is the locked-memory limit, ulimit -l, too low?)', verbs);
    this.compChannel = must(verbs.ibv_create_comp_channel(context), 'ibv_create_comp_channel', verbs);
    this.compFd = koffi.decode(this.compChannel, CompChannelOffset.fd, 'int') as number;
    this.cq = must(verbs.ibv_create_cq(context, SIGNALED_SEND_MAX * 3, null, this.compChannel, 0), 'ibv_create_cq', verbs);
    const attr = new Uint8Array(QP_INIT_ATTR_BYTES);
    const view = new DataView(attr.buffer);
    view.setBigUint64(QpInitAttrOffset.sendCq, BigInt(koffi.address(this.cq)), true);
    view.setBigUint64(QpInitAttrOffset.recvCq, BigInt(koffi.address(this.cq)), true);
    view.setUint32(QpInitAttrOffset.maxSendWr, SIGNALED_SEND_MAX + 2, true); // the writes, and one control SEND
    view.setUint32(QpInitAttrOffset.maxRecvWr, RECEIVE_DEPTH, true);
    view.setUint32(QpInitAttrOffset.maxSendSge, 1, true);
    view.setUint32(QpInitAttrOffset.maxRecvSge, 1, true);
    view.setUint32(QpInitAttrOffset.qpType, IBV_QPT_RC, true);
    if (verbs.rdma_create_qp(id, this.pd, attr) !== 0) throw new Error(`rdma_create_qp failed: errno ${verbs.errno()}`);
    this.qp = koffi.decode(id, CmIdOffset.qp, 'void *') as Pointer;
    [this.#sendWr, this.#sendView] = allocate(verbs, SEND_WR_BYTES + SGE_BYTES);
    [this.#recvWr, this.#recvView] = allocate(verbs, RECV_WR_BYTES + SGE_BYTES);
    [this.#wc, this.#wcView] = allocate(verbs, WC_BYTES * POLL_BATCH);
    this.#sendView.setBigUint64(SendWrOffset.sgList, BigInt(koffi.address(this.#sendWr)) + BigInt(SEND_WR_BYTES), true);
    this.#sendView.setUint32(SendWrOffset.numSge, 1, true);
    this.#sendView.setUint32(SendWrOffset.sendFlags, IBV_SEND_SIGNALED, true);
    this.#recvView.setBigUint64(RecvWrOffset.sgList, BigInt(koffi.address(this.#recvWr)) + BigInt(RECV_WR_BYTES), true);
    this.#recvView.setUint32(RecvWrOffset.numSge, 1, true);
  }

  /** Registers memory (C memory from koffi.alloc, or a typed array whose buffer never moves). */
  register(memory: Pointer | Uint8Array, length: number, access: number): MemoryRegion {
    const mr = must(this.#verbs.ibv_reg_mr(this.pd, memory as Uint8Array, length, access), `ibv_reg_mr of ${length} bytes`, this.#verbs);
    const { koffi } = this.#verbs;
    const region = {
      mr,
      lkey: koffi.decode(mr, MrOffset.lkey, 'uint32_t') as number,
      rkey: koffi.decode(mr, MrOffset.rkey, 'uint32_t') as number,
      address: Number(koffi.decode(mr, MrOffset.addr, 'uintptr_t') as number | bigint),
    };
    this.#regions.push(region);
    return region;
  }

  deregister(region: MemoryRegion): void {
    const at = this.#regions.indexOf(region);
    if (at < 0) return;
    this.#regions.splice(at, 1);
    this.#verbs.ibv_dereg_mr(region.mr);
  }

  /** Posts one signalled SEND (opcode IBV_WR_SEND) or RDMA WRITE; returns the verbs error (0, ENOMEM when full). */
  postSend(opcode: number, idLow: number, idHigh: number, address: number, length: number, lkey: number, remoteAddr = 0, rkey = 0): number {
    const view = this.#sendView;
    view.setUint32(SendWrOffset.wrId, idLow, true);
    view.setUint32(SendWrOffset.wrId + 4, idHigh, true);
    view.setUint32(SendWrOffset.opcode, opcode, true);
    setU64(view, SendWrOffset.remoteAddr, remoteAddr);
    view.setUint32(SendWrOffset.rkey, rkey, true);
    setU64(view, SEND_WR_BYTES, address);
    view.setUint32(SEND_WR_BYTES + 8, length, true);
    view.setUint32(SEND_WR_BYTES + 12, lkey, true);
    return this.#postSend(this.qp, this.#sendWr, this.#badWr);
  }

  postRecv(id: number, address: number, length: number, lkey: number): number {
    const view = this.#recvView;
    view.setUint32(RecvWrOffset.wrId, id, true);
    view.setUint32(RecvWrOffset.wrId + 4, 0, true);
    setU64(view, RECV_WR_BYTES, address);
    view.setUint32(RECV_WR_BYTES + 8, length, true);
    view.setUint32(RECV_WR_BYTES + 12, lkey, true);
    return this.#postRecv(this.qp, this.#recvWr, this.#badWr);
  }

  /** Asks for an event on the completion channel at the next completion. */
  requestNotify(): number {
    return this.#reqNotifyCq(this.cq, 0);
  }

  /**
   * Polls completions; `each(idLow, idHigh, status, byteLength)` per completion. Returns how many, or
   * throws when polling itself fails.
   */
  poll(each: (idLow: number, idHigh: number, status: number, byteLength: number) => void): number {
    let total = 0;
    for (;;) {
      const n = this.#pollCq(this.cq, POLL_BATCH, this.#wc);
      if (n < 0) throw new Error(`ibv_poll_cq failed (${n})`);
      for (let i = 0; i < n; i++) {
        const at = i * WC_BYTES;
        const view = this.#wcView;
        each(view.getUint32(at + WcOffset.wrId, true), view.getUint32(at + WcOffset.wrId + 4, true), view.getUint32(at + WcOffset.status, true), view.getUint32(at + WcOffset.byteLen, true));
      }
      total += n;
      if (n < POLL_BATCH) return total;
    }
  }

  /** Takes the completion channel's pending event (non-blocking fd: false when there was none). */
  takeEvent(): boolean {
    const cq: [Pointer | null] = [null];
    const context: [Pointer | null] = [null];
    if (this.#verbs.ibv_get_cq_event(this.compChannel, cq, context) !== 0) return false;
    this.#verbs.ibv_ack_cq_events(this.cq, 1);
    return true;
  }

  statusText(status: number): string {
    return this.#verbs.ibv_wc_status_str(status);
  }

  /** Frees everything in reverse order of creation (the cm id is the caller's). */
  destroy(): void {
    for (const region of this.#regions.splice(0)) this.#verbs.ibv_dereg_mr(region.mr);
    this.#verbs.rdma_destroy_qp(this.#id);
    this.#verbs.ibv_destroy_cq(this.cq);
    this.#verbs.ibv_destroy_comp_channel(this.compChannel);
    this.#verbs.ibv_dealloc_pd(this.pd);
    for (const memory of [this.#sendWr, this.#recvWr, this.#wc]) this.#verbs.koffi.free(memory);
  }
}

function must(pointer: Pointer | null, what: string, verbs: VerbsLibrary): Pointer {
  if (pointer === null) throw new Error(`${what} failed: errno ${verbs.errno()}`);
  return pointer;
}

function allocate(verbs: VerbsLibrary, bytes: number): [Pointer, DataView] {
  const memory = verbs.koffi.alloc('uint8_t', bytes) as Pointer;
  const view = new DataView(verbs.koffi.view(memory, bytes));
  new Uint8Array(view.buffer).fill(0);
  return [memory, view];
}

/** A little-endian u64 from a number (an address below 2^53) without making a bigint: the per-write path. */
function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / 2 ** 32), true);
}
