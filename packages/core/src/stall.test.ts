import { describe, expect, it } from 'vitest';
import { MigrationFailedError } from './errors.js';
import { connectStallError, realTimer, stallCheckPeriod, stallError, stallMessage, StallWatch, STALL_CHECK_MAX_MS } from './stall.js';
import { FakeClock } from './testing/fake-clock.js';

/** A watch over a probe the test moves by hand, on a fake clock. */
function watched(timeoutMs: number | (() => number)) {
  const clock = new FakeClock();
  const probe = { bytes: 0, waiting: false };
  const stalls: { idleMs: number; timeoutMs: number; at: number }[] = [];
  const watch = new StallWatch({
    probe: { progress: () => probe.bytes, waiting: () => probe.waiting },
    timeoutMs: typeof timeoutMs === 'function' ? timeoutMs : () => timeoutMs,
    onStall: (idleMs, t) => stalls.push({ idleMs, timeoutMs: t, at: clock.t }),
    now: clock.now,
    setTimer: clock.setTimer,
  });
  return { clock, probe, stalls, watch };
}

describe('StallWatch', () => {
  it('fires after the timeout of waiting without progress, not before, and only once', () => {
    const w = watched(2000);
    w.watch.start();
    w.probe.waiting = true; // a write blocks at t=0
    w.clock.advance(1999);
    expect(w.stalls).toEqual([]);
    w.clock.advance(3000);
    expect(w.stalls).toHaveLength(1);
    const s = w.stalls[0]!;
    expect(s.timeoutMs).toBe(2000);
    // silence is counted from the first check that saw the wait: reported within timeout + one period
    expect(s.idleMs).toBeGreaterThanOrEqual(2000);
    expect(s.at).toBeLessThanOrEqual(2000 + 2 * stallCheckPeriod(2000));
    expect(w.watch.fired).toBe(true);
    expect(w.clock.pendingTimers).toBe(0);
  });

  it('does not fire while the peer takes bytes, however slowly', () => {
    const w = watched(2000);
    w.watch.start();
    w.probe.waiting = true; // always blocked on backpressure...
    for (let i = 0; i < 100; i++) {
      w.clock.advance(1000);
      w.probe.bytes += 1; // ...but one byte a second gets through
    }
    expect(w.stalls).toEqual([]);
  });

  it('does not count time the loop spends not waiting on the peer (sleeps, disk reads, the guest stopping)', () => {
    const w = watched(2000);
    w.watch.start();
    w.clock.advance(60_000); // idle, not waiting: nothing moves and nothing is owed
    expect(w.stalls).toEqual([]);
    // waits that each end before the timeout, with idle gaps between them and no bytes at all
    for (let i = 0; i < 10; i++) {
      w.probe.waiting = true;
      w.clock.advance(1500);
      w.probe.waiting = false;
      w.clock.advance(1000);
    }
    expect(w.stalls).toEqual([]);
  });

  it('a timeout of 0 disables it; raising it later applies at the next check', () => {
    let timeout = 0;
    const w = watched(() => timeout);
    w.watch.start();
    w.probe.waiting = true;
    w.clock.advance(600_000);
    expect(w.stalls).toEqual([]);
    timeout = 3000;
    w.clock.advance(STALL_CHECK_MAX_MS); // the disabled watch still looks once a second
    expect(w.stalls).toEqual([]); // the silence while disabled does not count
    w.clock.advance(5000);
    expect(w.stalls).toHaveLength(1);
  });

  it('stop() disarms its timer: nothing fires after the migration ended', () => {
    const w = watched(1000);
    w.watch.start();
    w.probe.waiting = true;
    w.watch.stop();
    expect(w.clock.pendingTimers).toBe(0);
    w.clock.advance(10_000);
    expect(w.stalls).toEqual([]);
  });

  it('checks at a quarter of the timeout, between 25 ms and 1 s', () => {
    expect(stallCheckPeriod(2000)).toBe(500);
    expect(stallCheckPeriod(30_000)).toBe(1000);
    expect(stallCheckPeriod(40)).toBe(25);
    expect(stallCheckPeriod(0)).toBe(1000);
  });
});

describe('realTimer', () => {
  it('never fires at once for a huge delay (a wrapped -1 x-stall-timeout is 2^64 ms)', async () => {
    let fired = false;
    const disarm = realTimer(() => (fired = true), 2 ** 64);
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(false);
    disarm();
  });
});

describe('stall messages', () => {
  it('name the silent peer, how long and the parameter', () => {
    expect(stallMessage('target', 2000, 2000)).toBe(
      'migration stalled: the target accepted no data for 2.0 s (x-stall-timeout 2000 ms)',
    );
    expect(stallMessage('source', 30_250, 30_000)).toBe(
      'migration stalled: the source sent no data for 30.3 s (x-stall-timeout 30000 ms)',
    );
    expect(connectStallError(2000).message).toBe(
      'migration stalled: the target did not take the connection within 2.0 s (x-stall-timeout 2000 ms)',
    );
    const e = stallError('target', 2500, 2000);
    expect(e).toBeInstanceOf(MigrationFailedError);
    expect(e.phase).toBe('stall');
  });
});
