import type { RamControlOutput, RamControlPhase, RamControlSent, RamSaveControl } from '@mig/core';
import { RAM_SAVE_FLAG_HOOK } from './constants.js';
import type { RdmaRamWriter } from './ram-writer.js';

const PAGE = 4096;
/** Pages queued (taken by the RAM section, not yet written) before whenReady() makes the section wait: 64 MiB. */
const DEFAULT_MAX_QUEUED_PAGES = 16384;

interface Round {
  /** Stream offset just past this round's HOOK record: its RDMA work runs once the stream got that far. */
  readonly hookEnd: number;
  readonly setup: boolean;
  /** Logical index past this round's last span; set by afterIterate. */
  spanEnd: number;
  closed: boolean;
}

/**
 * The source's RAM control hook over RDMA (QEMU's registration_start / save_page / registration_stop). The
 * RAM section calls it synchronously; the RDMA work of each body (a "round") is queued and run by
 * RdmaStreamWriter at the round's place in the stream: after the HOOK record has gone out as QEMU_FILE and
 * before any later stream byte, as QEMU does it inline. Pages are kept as spans (block, start, length) in one
 * typed array that is compacted, never one object per page.
 */
export class RdmaRamSaveControl implements RamSaveControl {
  readonly #writer: RdmaRamWriter;
  readonly #maxQueuedPages: number;
  readonly #rounds: Round[] = [];
  #spans = new Float64Array(3 * 1024);
  /** Logical span indices: #base is physical slot 0, #head the next to write, #tail the next free. */
  #base = 0;
  #head = 0;
  #tail = 0;
  #queuedPages = 0;
  #ready: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | undefined;
  #failure: Error | undefined;

  constructor(writer: RdmaRamWriter, maxQueuedPages = DEFAULT_MAX_QUEUED_PAGES) {
    this.#writer = writer;
    this.#maxQueuedPages = maxQueuedPages;
  }

  get writer(): RdmaRamWriter {
    return this.#writer;
  }

  /** What went out of the pages taken: bytes by RDMA WRITE (when posted), zero bytes as COMPRESS. */
  get sent(): RamControlSent {
    return this.#writer.stats;
  }

  /** Pages taken and not yet written. */
  get queuedPages(): number {
    return this.#queuedPages;
  }

  beforeIterate(out: RamControlOutput, phase: RamControlPhase): void {
    out.be64(RAM_SAVE_FLAG_HOOK);
    this.#rounds.push({ hookEnd: out.bytesWritten, setup: phase === 'setup', spanEnd: this.#tail, closed: false });
  }

  afterIterate(_out: RamControlOutput, _phase: RamControlPhase): void {
    const round = this.#rounds.at(-1);
    if (round === undefined || round.closed) throw new Error('RDMA RAM control: afterIterate without beforeIterate');
    round.spanEnd = this.#tail;
    round.closed = true;
  }

  savePage(blockIndex: number, offset: number): boolean {
    const last = (this.#tail - 1 - this.#base) * 3;
    const spans = this.#spans;
    // contiguous with the last span of this (open, so not being written) round: grow it
    if (this.#lastSpanIsThisRounds() && spans[last] === blockIndex && spans[last + 1]! + spans[last + 2]! === offset) {
      spans[last + 2] = spans[last + 2]! + PAGE;
    } else {
      this.#append(blockIndex, offset);
    }
    this.#queuedPages++;
    return true;
  }

  #lastSpanIsThisRounds(): boolean {
    const round = this.#rounds.at(-1);
    return round !== undefined && !round.closed && round.spanEnd < this.#tail;
  }

  #append(blockIndex: number, offset: number): void {
    if ((this.#tail - this.#base + 1) * 3 > this.#spans.length) this.#makeRoom();
    const at = (this.#tail - this.#base) * 3;
    this.#spans[at] = blockIndex;
    this.#spans[at + 1] = offset;
    this.#spans[at + 2] = PAGE;
    this.#tail++;
  }

  /** Drops the spans already written; grows the array only when what is queued fills it. */
  #makeRoom(): void {
    const shift = this.#head - this.#base;
    if (shift > 0) {
      this.#spans.copyWithin(0, shift * 3, (this.#tail - this.#base) * 3);
      this.#base = this.#head;
    }
    if ((this.#tail - this.#base + 1) * 3 > this.#spans.length) {
      const grown = new Float64Array(this.#spans.length * 2);
      grown.set(this.#spans);
      this.#spans = grown;
    }
  }

  whenReady(): Promise<void> | undefined {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#queuedPages < this.#maxQueuedPages) return undefined;
    if (this.#ready === undefined) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#ready = { promise, resolve, reject };
    }
    return this.#ready.promise;
  }

  /** Stream offset at which the next queued round runs, or -1 when none is queued. */
  get nextRoundAt(): number {
    return this.#rounds[0]?.hookEnd ?? -1;
  }

  /** Writes the next round's pages by RDMA, then registration_stop (drain, block exchange at setup, REGISTER_FINISHED). */
  async runNextRound(): Promise<void> {
    const round = this.#rounds[0];
    if (round === undefined) return;
    if (!round.closed) throw new Error('RDMA RAM control: the stream reached a RAM body whose pages are not all known yet');
    try {
      while (this.#head < round.spanEnd) await this.#writeSpan();
      await this.#writer.finishIteration(round.setup);
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
    this.#rounds.shift();
    if (this.#rounds.length === 0 && this.#head === this.#tail) this.#base = this.#head; // all written: start over
    this.#wake();
  }

  async #writeSpan(): Promise<void> {
    const at = (this.#head - this.#base) * 3;
    const block = this.#spans[at]!;
    const start = this.#spans[at + 1]!;
    const end = start + this.#spans[at + 2]!;
    for (let offset = start; offset < end; offset += PAGE) {
      const waiting = this.#writer.addPage(block, offset, PAGE);
      if (waiting !== undefined) await waiting;
    }
    this.#head++;
    this.#queuedPages -= (end - start) / PAGE;
    if (this.#queuedPages < this.#maxQueuedPages) this.#wake();
  }

  #wake(): void {
    const ready = this.#ready;
    if (ready === undefined || this.#queuedPages >= this.#maxQueuedPages) return;
    this.#ready = undefined;
    ready.resolve();
  }

  /** The connection failed or was cancelled: a section waiting for room learns why. */
  fail(err: Error): void {
    this.#failure ??= err;
    const ready = this.#ready;
    this.#ready = undefined;
    ready?.reject(this.#failure);
  }
}
