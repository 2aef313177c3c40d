import { describe, expect, it } from 'vitest';
import { MigrationFailedError } from '../errors.js';
import type { ByteSink } from './interfaces.js';
import { harness, withParams, type FakeClock } from '../testing/precopy-fakes.js';

const STALL = /^migration stalled: the target accepted no data for \d+\.\d s \(x-stall-timeout 2000 ms\)$/;

/** Lets the promise chains of the loop run (a few macrotask turns). */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

/** Moves the fake clock in `stepMs` steps, giving the loop a turn after each, until `done` settles. */
async function drive<T>(done: Promise<T>, clock: FakeClock, stepMs: number, maxMs: number): Promise<T | 'pending'> {
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  for (let t = 0; t < maxMs && !settled; t += stepMs) {
    clock.advance(stepMs);
    await settle();
  }
  return settled ? done : 'pending';
}

describe('runPrecopy: x-stall-timeout', () => {
  it('a target that stops taking data mid-bulk fails the migration after the timeout, with the message', async () => {
    const h = harness({ pages: 200, sinkOpts: { blockAt: 20 }, params: withParams({ 'max-bandwidth': 0, 'x-stall-timeout': 2000 }) });
    const done = h.run();
    await h.sink.blocked;
    h.clock.advance(1900);
    await settle();
    expect(h.state.status).toBe('active'); // not before the timeout
    h.clock.advance(1000);
    const r = await done;
    expect(r.status).toBe('failed');
    expect(r.errorDesc).toMatch(STALL);
    expect(r.error).toBeInstanceOf(MigrationFailedError);
    expect(r.error?.phase).toBe('stall');
    expect(h.sink.destroyedWith).toBe(r.error); // the transport is gone: nothing left waiting on it
    expect(h.guest.stops).toBe(0); // bulk: the guest never stopped
    expect(h.history.at(-1)).toBe('active>failed');
    expect(h.clock.pendingTimers).toBe(0); // the watch's timer went with the run
  });

  it('a stall after the guest stopped (switchover) fails and resumes the guest', async () => {
    const h = harness({ pages: 4, sinkOpts: { blockAt: 6 }, params: withParams({ 'max-bandwidth': 0, 'x-stall-timeout': 2000 }) });
    const done = h.run();
    await h.sink.blocked;
    expect(h.guest.stops).toBe(1);
    h.clock.advance(5000);
    const r = await done;
    expect(r.status).toBe('failed');
    expect(r.errorDesc).toMatch(STALL);
    expect(h.guest.resumes).toEqual(['running']);
  });

  it('a target that stops reading during sink.end() fails it too', async () => {
    const h = harness({ pages: 4, params: withParams({ 'max-bandwidth': 0, 'x-stall-timeout': 2000 }) });
    // never flushed: destroy() is the only way out
    const destroy = h.sink.destroy.bind(h.sink);
    let endRejected: ((e: Error) => void) | undefined;
    h.sink.end = () => new Promise<void>((_, reject) => (endRejected = reject));
    h.sink.destroy = (err) => {
      destroy(err);
      endRejected?.(err ?? new Error('destroyed'));
    };
    const done = h.run();
    const r = await drive(done, h.clock, 500, 10_000);
    expect(r).not.toBe('pending');
    expect((r as Awaited<typeof done>).errorDesc).toMatch(STALL);
    expect(h.guest.resumes).toEqual(['running']);
  });

  it('a slow target whose writes each take long, but that drains bytes steadily, is not failed', async () => {
    // each write is held 10 s, while the OS takes its bytes a little at a time (bytesFlushed grows)
    let flushed = 0;
    const box: { clock?: FakeClock } = {}; // the harness makes the clock after the sink
    const slow: ByteSink = {
      write: (chunk) =>
        new Promise<void>((resolve) => {
          const tick = (left: number) => {
            flushed += chunk.length / 20;
            if (left <= 1) resolve();
            else box.clock!.setTimer(() => tick(left - 1), 500);
          };
          box.clock!.setTimer(() => tick(20), 500);
        }),
      end: async () => {},
      destroy: () => {},
      get bytesFlushed() {
        return flushed;
      },
    };
    const h = harness({ pages: 3, sink: slow, params: withParams({ 'max-bandwidth': 0, 'x-stall-timeout': 2000 }) });
    box.clock = h.clock;
    const run = h.run();
    const r = await drive(run, h.clock, 250, 400_000);
    expect(r).not.toBe('pending');
    expect((r as Awaited<typeof run>).status).toBe('completed');
    expect(h.clock.t).toBeGreaterThan(20_000); // several 10 s writes: far past the timeout, all of it moving
  });

  it('x-stall-timeout 0 never fires; a cancel still ends the blocked write at once', async () => {
    const h = harness({ pages: 200, sinkOpts: { blockAt: 5 }, params: withParams({ 'max-bandwidth': 0, 'x-stall-timeout': 0 }) });
    const done = h.run();
    await h.sink.blocked;
    h.clock.advance(3_600_000);
    await settle();
    expect(h.state.status).toBe('active');
    h.state.transition('active', 'cancelling');
    const r = await done;
    expect(r.status).toBe('cancelled');
    expect(h.sink.destroyedWith).toBeDefined();
  });

  it('a timeout set live (migrate-set-parameters during the run) applies', async () => {
    let params = withParams({ 'max-bandwidth': 0, 'x-stall-timeout': 0 });
    const h = harness({ pages: 200, sinkOpts: { blockAt: 5 }, params: () => params });
    const done = h.run();
    await h.sink.blocked;
    h.clock.advance(60_000);
    await settle();
    expect(h.state.status).toBe('active');
    params = withParams({ 'max-bandwidth': 0, 'x-stall-timeout': 2000 });
    h.clock.advance(4000);
    const r = await done;
    expect(r.errorDesc).toMatch(STALL);
  });
});
