// A guest that writes one of its disks: timed writes of `block` bytes at random block-aligned offsets of a
// region, at `rate` bytes per second, through Drive.write / writeZeroes (so they are guest writes: refused
// while the image is inactive, dirty chunks marked after each write), at most MAX_IN_FLIGHT at once. It runs
// on the main thread, which owns the images, and writes only while the guest runs: the STOP of a switchover
// stops it before the next write, and the migration's drain waits for those still in flight.
import type { DiskWorkloadInfo } from '@mig/qmp';
import { completeDiskWorkload, type DiskWorkloadConfig } from './disk-workload-config.js';

/** What the workload needs of a drive (a Drive). */
export interface DiskWorkloadDrive {
  readonly id: string;
  readonly size: number;
  write(offset: number, buf: Uint8Array, len: number): Promise<void>;
  writeZeroes(offset: number, len: number): Promise<void>;
}

const MAX_IN_FLIGHT = 8;
const TICK_MS = 5;
/** Catch-up after a stall is bounded to this much time's worth of writes. */
const MAX_BACKLOG_MS = 50;
const LAST_OFFSETS = 8;
/** `sparse` blocks are zero but for a stamp every 4 KiB. */
const STAMP_EVERY = 4096;

/** One write's buffer and its completion handlers, made once and reused (no closure per write). */
class WriteSlot {
  busy = false;
  offset = 0;
  len = 0;
  /** The buffer holds zeros but for sparse stamps (false once random data went in). */
  sparse = true;
  readonly words: Uint32Array;
  constructor(
    readonly buf: Uint8Array,
    owner: DiskWorkload,
  ) {
    this.words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
    this.done = () => owner.settle(this, undefined);
    this.fail = (err: unknown) => owner.settle(this, err);
  }
  readonly done: () => void;
  readonly fail: (err: unknown) => void;
}

export class DiskWorkload {
  #config: DiskWorkloadConfig | undefined;
  #active = false;
  #guestRunning = false;
  #timer: NodeJS.Timeout | undefined;
  #credit = 0;
  #last = 0;
  #slots: WriteSlot[] = [];
  #inFlight = 0;
  #idle: Array<() => void> = [];
  #rng: number;
  #stamp = 0;
  readonly #lastOffsets: number[] = [];
  writes = 0;
  bytes = 0;
  errors = 0;
  lastError: string | undefined;

  constructor(
    readonly drive: DiskWorkloadDrive,
    seed = Date.now(),
  ) {
    this.#rng = seed >>> 0 || 0x9e3779b9;
  }

  get config(): DiskWorkloadConfig | undefined {
    return this.#config ? { ...this.#config } : undefined;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** New settings (checked against the drive); take effect at the next write. */
  configure(config: DiskWorkloadConfig): void {
    completeDiskWorkload(config, this.drive.size);
    if (this.#config?.block !== config.block) this.#slots = this.#slots.filter((s) => s.busy); // busy ones finish first
    this.#config = { ...config };
  }

  start(): void {
    if (!this.#config) throw new Error(`the disk workload of drive '${this.drive.id}' has no settings yet: give rate first`);
    this.#active = true;
    this.#apply();
  }

  stop(): void {
    this.#active = false;
    this.#apply();
  }

  /** The guest's run state changed: writes happen only while it runs. */
  setGuestRunning(running: boolean): void {
    this.#guestRunning = running;
    this.#apply();
  }

  info(): DiskWorkloadInfo {
    const c = this.#config;
    const info: DiskWorkloadInfo = {
      drive: this.drive.id, active: this.#active, running: this.#timer !== undefined, rate: c?.rate ?? 0, offset: c?.offset ?? 0,
      length: c?.length ?? 0, pattern: c?.pattern ?? 'random', block: c?.block ?? 0, writes: this.writes, bytes: this.bytes,
      errors: this.errors, 'last-offsets': [...this.#lastOffsets],
    };
    if (this.lastError !== undefined) info['last-error'] = this.lastError;
    return info;
  }

  /** Stops, then waits for the writes in flight. */
  async close(): Promise<void> {
    this.stop();
    await this.idle();
  }

  /** Resolves once no write is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** A write finished (err undefined) or failed. */
  settle(slot: WriteSlot, err: unknown): void {
    slot.busy = false;
    this.#inFlight--;
    if (err === undefined) {
      this.writes++;
      this.bytes += slot.len;
      if (this.#lastOffsets.push(slot.offset) > LAST_OFFSETS) this.#lastOffsets.shift();
    } else {
      this.errors++;
      this.lastError = err instanceof Error ? err.message : String(err);
    }
    if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  #apply(): void {
    const run = this.#active && this.#guestRunning;
    if (run && this.#timer === undefined) {
      this.#last = performance.now();
      this.#credit = 0;
      this.#timer = setInterval(this.#tick, TICK_MS);
      this.#timer.unref();
    } else if (!run && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  readonly #tick = (): void => {
    const c = this.#config!;
    const now = performance.now();
    const perSecond = c.rate / c.block;
    this.#credit = Math.min(this.#credit + ((now - this.#last) * perSecond) / 1000, 1 + (MAX_BACKLOG_MS * perSecond) / 1000);
    this.#last = now;
    while (this.#credit >= 1 && this.#inFlight < MAX_IN_FLIGHT) {
      this.#credit--;
      this.#issue(c);
    }
  };

  #issue(c: DiskWorkloadConfig): void {
    const slot = this.#freeSlot(c.block);
    slot.offset = c.offset + (this.#next() % Math.floor(c.length / c.block)) * c.block;
    slot.len = c.block;
    slot.busy = true;
    this.#inFlight++;
    if (c.pattern === 'zero') {
      this.drive.writeZeroes(slot.offset, slot.len).then(slot.done, slot.fail);
      return;
    }
    this.#fill(slot, c.pattern);
    this.drive.write(slot.offset, slot.buf, slot.len).then(slot.done, slot.fail);
  }

  #freeSlot(block: number): WriteSlot {
    const free = this.#slots.find((s) => !s.busy);
    if (free !== undefined) return free;
    const slot = new WriteSlot(new Uint8Array(block), this);
    this.#slots.push(slot);
    return slot;
  }

  /** random: every word new; sparse: zeros with a changing stamp every 4 KiB (the rest stays zero). */
  #fill(slot: WriteSlot, pattern: 'random' | 'sparse'): void {
    const words = slot.words;
    if (pattern === 'random') {
      for (let i = 0; i < words.length; i++) words[i] = this.#next();
      slot.sparse = false;
      return;
    }
    if (!slot.sparse) {
      words.fill(0);
      slot.sparse = true;
    }
    const stamp = ++this.#stamp >>> 0 || 1;
    for (let i = 0; i < words.length; i += STAMP_EVERY >>> 2) words[i] = stamp;
  }

  /** xorshift32. */
  #next(): number {
    let x = this.#rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#rng = x >>> 0;
    return this.#rng;
  }
}
