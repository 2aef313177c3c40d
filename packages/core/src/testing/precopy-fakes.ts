import { defaultParameters, type MigrationParameters } from '../params.js';
import type { ByteSink, MigrationSaver } from '../precopy/interfaces.js';
import type { PrecopyOptions } from '../precopy/options.js';
import { runPrecopy } from '../precopy.js';
import { createStats } from '../stats.js';
import { MigrationStateMachine } from '../status.js';
import { FakeClock } from './fake-clock.js';

export { FakeClock };
export const PAGE = 4096;
export const SETUP_BYTES = 16;
export const TRAILER_BYTES = 32;

export interface SaverHooks {
  setup?(): void;
  /** Before the pages of each iterate(maxBytes); may emit() chunks of another section. */
  iterate?(maxBytes: number): void;
  complete?(): void;
  /** Added to what pendingBytes(threshold) reports (e.g. a section holding the switchover back). */
  extraPending?(thresholdBytes: number): number;
}

/** Guest RAM as page numbers: each page goes out as PAGE bytes whose first 4 are its number. */
export class FakeSaver implements MigrationSaver {
  calls: string[] = [];
  budgets: number[] = [];
  sent: number[] = [];
  /** The threshold of every pendingBytes() call the loop made. */
  thresholds: number[] = [];
  syncs = 0;
  runstate: string | undefined;
  private toSend = new Set<number>();
  private out: Uint8Array[] = [];
  constructor(
    readonly pages: number,
    /** Pages the guest dirtied before sync number `n` (n ≥ 2). */
    readonly dirtied: (n: number) => number[] = () => [],
    readonly hooks: SaverHooks = {},
  ) {}
  setup(): void {
    this.calls.push('setup');
    this.hooks.setup?.();
    this.out.push(new Uint8Array(SETUP_BYTES));
  }
  syncDirty(): void {
    this.syncs++;
    const pages = this.syncs === 1 ? Array.from({ length: this.pages }, (_, i) => i) : this.dirtied(this.syncs);
    for (const p of pages) this.toSend.add(p);
  }
  /** The loop passes the switchover threshold; a test reading the pending set calls it without one. */
  pendingBytes(thresholdBytes?: number): number {
    if (thresholdBytes === undefined) return this.toSend.size * PAGE;
    this.thresholds.push(thresholdBytes);
    return this.toSend.size * PAGE + (this.hooks.extraPending?.(thresholdBytes) ?? 0);
  }
  private sendPage(p: number): Uint8Array {
    this.toSend.delete(p);
    this.sent.push(p);
    const b = new Uint8Array(PAGE);
    new DataView(b.buffer).setUint32(0, p);
    return b;
  }
  iterate(maxBytes: number): number {
    this.calls.push('iterate');
    this.budgets.push(maxBytes);
    this.hooks.iterate?.(maxBytes);
    let n = 0;
    for (const p of this.toSend) {
      if (n >= maxBytes) break;
      this.out.push(this.sendPage(p));
      n += PAGE;
    }
    return n;
  }
  complete(runstate: string): void {
    this.calls.push('complete');
    this.hooks.complete?.();
    this.syncDirty();
    this.runstate = runstate;
    for (const p of [...this.toSend]) this.out.push(this.sendPage(p));
    this.out.push(new Uint8Array(TRAILER_BYTES));
  }
  /** Adds a chunk to the output (another section's bytes). */
  emit(chunk: Uint8Array): void {
    this.out.push(chunk);
  }
  drainOutput(): Uint8Array[] {
    const o = this.out;
    this.out = [];
    return o;
  }
}

export interface SinkOptions {
  clock: FakeClock;
  /** Link speed: each write advances the clock by len / bytesPerMs. */
  bytesPerMs?: number;
  /** The write that would pass this many bytes rejects with `error`. */
  failAtByte?: number;
  error?: Error;
  endError?: Error;
  /** Write number `blockAt` (1-based) never resolves until destroy(). */
  blockAt?: number;
  onWrite?(sink: FakeSink): void;
}

export class FakeSink implements ByteSink {
  bytes = 0;
  writes: { t: number; len: number; page: number }[] = [];
  ended = false;
  destroyedWith: Error | null | undefined = undefined;
  blocked?: Promise<void>;
  private signalBlocked?: () => void;
  private reject?: (err: Error) => void;
  constructor(readonly o: SinkOptions) {
    this.blocked = new Promise((r) => (this.signalBlocked = r));
  }
  write(chunk: Uint8Array): Promise<void> {
    if (this.destroyedWith !== undefined) return Promise.reject(new Error('write after destroy'));
    if (this.o.failAtByte !== undefined && this.bytes + chunk.length > this.o.failAtByte) {
      return Promise.reject(this.o.error ?? new Error('write EPIPE'));
    }
    const page = chunk.length === PAGE ? new DataView(chunk.buffer, chunk.byteOffset).getUint32(0) : -1;
    this.writes.push({ t: this.o.clock.t, len: chunk.length, page });
    this.bytes += chunk.length;
    if (this.o.bytesPerMs) this.o.clock.t += chunk.length / this.o.bytesPerMs;
    this.o.onWrite?.(this);
    if (this.writes.length === this.o.blockAt) {
      this.signalBlocked?.();
      return new Promise((_, reject) => (this.reject = reject));
    }
    return Promise.resolve();
  }
  async end(): Promise<void> {
    if (this.o.endError) throw this.o.endError;
    this.ended = true;
  }
  destroy(err?: Error): void {
    this.destroyedWith = err ?? null;
    this.reject?.(new Error('sink destroyed'));
  }
  /** Bytes written per 100 ms slot. */
  perSlot(): number[] {
    const slots: number[] = [];
    for (const w of this.writes) {
      const i = Math.floor(w.t / 100 + 1e-9);
      slots[i] = (slots[i] ?? 0) + w.len;
    }
    return slots;
  }
}

export type HarnessOptions = Partial<PrecopyOptions> & {
  pages?: number;
  dirtied?: (n: number) => number[];
  hooks?: SaverHooks;
  sinkOpts?: Partial<SinkOptions>;
  params?: PrecopyOptions['params'];
};

/** A saver of `pages` pages, a fake sink and clock, and the options of a run over them. */
export function harness(over: HarnessOptions = {}) {
  const clock = new FakeClock();
  const saver = new FakeSaver(over.pages ?? 100, over.dirtied, over.hooks);
  const sink = new FakeSink({ clock, ...over.sinkOpts });
  const state = over.state ?? new MigrationStateMachine();
  const history: string[] = [];
  state.onChange(({ from, to }) => history.push(`${from}>${to}`));
  const passes: number[] = [];
  const guest = { stops: 0, resumes: [] as string[], pendingAtStop: -1, runstate: 'running' };
  const stats = over.stats ?? createStats();
  const opts: PrecopyOptions = {
    saver,
    sink,
    params: over.params ?? { ...defaultParameters(), 'max-bandwidth': 0 },
    state,
    stats,
    now: clock.now,
    sleep: clock.sleep,
    setTimer: clock.setTimer,
    onPass: (n) => passes.push(n),
    stopGuest: () => {
      guest.stops++;
      guest.pendingAtStop = saver.pendingBytes();
      return guest.runstate;
    },
    resumeGuest: (rs) => {
      guest.resumes.push(rs);
    },
    ...over,
  };
  return { clock, saver, sink, state, history, passes, guest, stats, opts, run: () => runPrecopy(opts) };
}

export const withParams = (p: Partial<MigrationParameters>): MigrationParameters => ({ ...defaultParameters(), ...p });
