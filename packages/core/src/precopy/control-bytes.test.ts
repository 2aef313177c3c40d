// A saver whose pages a transport carries beside the stream (RDMA WRITE): taken pages use the rate limit when
// taken, the transport's sent bytes count in transferred, precopy-bytes and the bandwidth when sent.
import { describe, expect, it } from 'vitest';
import { defaultParameters } from '../params.js';
import { runPrecopy } from '../precopy.js';
import { createStats } from '../stats.js';
import { FakeClock, FakeSink } from '../testing/precopy-fakes.js';
import type { MigrationSaver } from './interfaces.js';

const PAGE = 4096;
const MARK = 16; // the stream bytes of one iterate (a HOOK and EOS, framing)

/** `pages` pages, each taken by the control path (no stream bytes); the transport sends them one batch late. */
class ControlPathSaver implements MigrationSaver {
  controlBytesTaken = 0;
  controlBytesSent = 0;
  readonly budgets: number[] = [];
  #left: number;
  #out: Uint8Array[] = [];
  constructor(readonly pages: number) {
    this.#left = pages;
  }
  setup(): void {
    this.#out.push(new Uint8Array(MARK));
  }
  syncDirty(): void {}
  pendingBytes(): number {
    return this.#left * PAGE;
  }
  iterate(maxBytes: number): number {
    this.budgets.push(maxBytes);
    this.controlBytesSent = this.controlBytesTaken; // what the previous batch took has gone out by now
    let used = MARK;
    while (this.#left > 0 && used < maxBytes) {
      this.#left--;
      this.controlBytesTaken += PAGE;
      used += PAGE;
    }
    this.#out.push(new Uint8Array(MARK));
    return MARK;
  }
  complete(): void {
    this.controlBytesTaken += this.#left * PAGE;
    this.#left = 0;
    this.controlBytesSent = this.controlBytesTaken;
    this.#out.push(new Uint8Array(MARK));
  }
  drainOutput(): Uint8Array[] {
    const o = this.#out;
    this.#out = [];
    return o;
  }
}

describe('pages sent beside the stream (a transport control path)', () => {
  it('use the rate limit when taken and count in transferred and the bandwidth when sent', async () => {
    const clock = new FakeClock();
    const saver = new ControlPathSaver(4096); // 16 MiB
    const stats = createStats();
    const maxBandwidth = 40 * PAGE * 10; // a 100 ms slot carries 40 pages
    const slotLimit = maxBandwidth / 10;
    const perSlot: number[] = [];
    let slotStart = 0;
    const bandwidths: number[] = [];
    const result = await runPrecopy({
      saver, sink: new FakeSink({ clock }), stats, now: clock.now,
      sleep: async (ms) => {
        if (ms === 0) {
          // right after a slot end: what that slot used of the limit (stream and pages taken)
          const used = stats.precopyBytes - saver.controlBytesSent + saver.controlBytesTaken;
          perSlot.push(used - slotStart);
          slotStart = used;
        }
        await clock.sleep(ms);
      },
      params: { ...defaultParameters(), 'max-bandwidth': maxBandwidth, 'downtime-limit': 300 },
      stopGuest: () => 'running', resumeGuest: () => undefined,
      onSync: (info) => bandwidths.push(info.bandwidth),
      // switch over once a slot was measured and at most 1 s of it is left
      convergence: (input) => input.bandwidth > 0 && input.pendingBytes <= input.bandwidth,
    });
    expect(result.status).toBe('completed');
    // the limit held on the pages taken: each slot at most its limit and one page past it
    expect(perSlot.length).toBeGreaterThan(50);
    for (const bytes of perSlot) expect(bytes).toBeLessThanOrEqual(slotLimit + PAGE);
    // the bandwidth is the control path's (sent one batch late), not the stream's 16 bytes a batch
    const measured = bandwidths.slice(1); // pass 1 is the sync at setup, before any slot
    expect(measured.length).toBeGreaterThan(0);
    for (const b of measured) expect(b).toBeGreaterThan(0.9 * maxBandwidth);
    // transferred and precopy/downtime bytes: the stream and every byte the control path sent
    expect(saver.controlBytesSent).toBe(4096 * PAGE);
    expect(stats.transferred).toBe(result.bytesWritten + 4096 * PAGE);
    expect(stats.precopyBytes + stats.downtimeBytes).toBe(stats.transferred);
    expect(stats.downtimeBytes).toBeGreaterThan(0); // what complete() sent, counted once the stream had ended
  });
});
