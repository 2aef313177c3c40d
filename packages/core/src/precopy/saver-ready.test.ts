import { describe, expect, it } from 'vitest';
import { defaultParameters } from '../params.js';
import { runPrecopy } from '../precopy.js';
import { MigrationStateMachine } from '../status.js';
import { FakeClock, FakeSink } from '../testing/precopy-fakes.js';
import type { MigrationSaver } from './interfaces.js';

/**
 * A saver whose items must be read before they can be written, one read in flight at a time (a disk section
 * in miniature): iterate() writes what has been read and starts the next read; until it lands, nothing.
 */
class ReadingSaver implements MigrationSaver {
  iterates = 0;
  waits = 0;
  private out: Uint8Array[] = [];
  private next = 0;
  private ready = 0;
  private inFlight: Promise<void> | undefined;
  constructor(
    private readonly items: number,
    private readonly read: (index: number) => Promise<void> = () => new Promise((r) => setImmediate(r)),
  ) {}
  setup(): void {
    this.out.push(new Uint8Array(8));
  }
  syncDirty(): void {}
  pendingBytes(): number {
    return (this.items - this.next) * 100;
  }
  iterate(maxBytes: number): number {
    this.iterates++;
    let n = 0;
    while (this.ready > 0 && n < maxBytes) {
      this.out.push(new Uint8Array(100));
      this.ready--;
      this.next++;
      n += 100;
    }
    this.startRead();
    return n;
  }
  whenReady(): Promise<void> | undefined {
    if (this.ready > 0) return undefined;
    this.startRead();
    this.waits++;
    return this.inFlight;
  }
  complete(): void {
    if (this.next !== this.items) throw new Error(`complete() with ${this.items - this.next} items not written`);
    this.out.push(new Uint8Array(4));
  }
  drainOutput(): Uint8Array[] {
    const o = this.out;
    this.out = [];
    return o;
  }
  private startRead(): void {
    const index = this.next + this.ready;
    if (this.inFlight || index >= this.items) return;
    this.inFlight = this.read(index).then(() => {
      this.inFlight = undefined;
      this.ready++;
    });
  }
}

function run(saver: MigrationSaver, over: { signal?: AbortSignal; state?: MigrationStateMachine } = {}) {
  const clock = new FakeClock();
  const sink = new FakeSink({ clock });
  const result = runPrecopy({
    saver, sink, now: clock.now, sleep: clock.sleep,
    params: { ...defaultParameters(), 'max-bandwidth': 0 },
    stopGuest: () => 'running', resumeGuest: () => {},
    ...over,
  });
  return { sink, result };
}

describe('runPrecopy with a saver that waits for its own I/O (whenReady)', () => {
  it('waits for each read instead of spinning, also after the guest stopped, and writes every item', async () => {
    const saver = new ReadingSaver(40);
    const { sink, result } = run(saver);
    expect((await result).status).toBe('completed');
    expect(sink.bytes).toBe(8 + 40 * 100 + 4);
    expect(saver.waits).toBeGreaterThanOrEqual(40);
    expect(saver.iterates).toBeLessThanOrEqual(2 * 40 + 2); // one empty iterate per read at most
  });

  it('a read that fails fails the migration, naming why', async () => {
    const saver = new ReadingSaver(5, (i) => (i === 3 ? Promise.reject(new Error('read of d0 at 3 MiB failed: EIO')) : Promise.resolve()));
    const { sink, result } = run(saver);
    const r = await result;
    expect(r.status).toBe('failed');
    expect(r.errorDesc).toBe('migration iterate failed: read of d0 at 3 MiB failed: EIO');
    expect(sink.destroyedWith).toBeInstanceOf(Error);
  });

  it('a cancel ends a wait that would never end', async () => {
    const abort = new AbortController();
    let stuck = false;
    const saver = new ReadingSaver(5, (i) => (i === 2 ? ((stuck = true), new Promise(() => {})) : Promise.resolve()));
    const state = new MigrationStateMachine();
    const { result } = run(saver, { signal: abort.signal, state });
    while (!stuck) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); // the loop is now waiting on read 2
    abort.abort();
    expect((await result).status).toBe('cancelled');
    expect(state.status).toBe('cancelled');
  });
});
