import { describe, expect, it } from 'vitest';
import { MigrationFailedError } from '../errors.js';
import { createStats } from '../stats.js';
import { MigrationStateMachine } from '../status.js';
import { CancelWatch } from './cancel.js';
import { CancelRequested } from './failure.js';
import type { ByteSink, MigrationSaver } from './interfaces.js';
import { StreamOutput } from './output.js';
import { PrecopyStatsRecorder } from './precopy-stats.js';
import { SinkStallGuard } from './stall-guard.js';

function setup(o: { failAt?: number; abortOnFail?: boolean; onWrite?(n: number): void; bytesFlushed?: number } = {}) {
  const calls: string[] = [];
  const ac = new AbortController();
  let pendingChunks: Uint8Array[] = [];
  const saver = {
    drainOutput: () => {
      calls.push('drain');
      const c = pendingChunks;
      pendingChunks = [];
      return c;
    },
    recycleOutput: (n: number) => void calls.push(`recycle ${n}`),
  } as unknown as MigrationSaver;
  const written: number[] = [];
  const sink: ByteSink = {
    write: async (chunk) => {
      if (written.length === o.failAt) {
        if (o.abortOnFail) ac.abort(); // the write fails because the cancel destroyed the sink
        throw new Error('write EPIPE');
      }
      written.push(chunk.length);
      o.onWrite?.(written.length);
    },
    end: async () => {},
    destroy: () => {},
    ...(o.bytesFlushed !== undefined && { bytesFlushed: o.bytesFlushed }),
  };
  const state = new MigrationStateMachine('active');
  const cancel = new CancelWatch(state, sink, ac.signal);
  const recorder = new PrecopyStatsRecorder(createStats());
  const guest = { inDowntime: false };
  const stall = new SinkStallGuard(sink, () => 0, { now: () => 0, setTimer: () => () => {} });
  const out = new StreamOutput(saver, sink, cancel, recorder, guest, stall);
  const produce = (...lens: number[]) => void pendingChunks.push(...lens.map((n) => new Uint8Array(n)));
  return { out, produce, written, calls, recorder, guest, ac };
}

describe('StreamOutput', () => {
  it('writes every chunk in order and counts them as precopy or downtime bytes', async () => {
    const s = setup();
    s.produce(10, 20);
    expect(await s.out.flush()).toBe(30);
    s.guest.inDowntime = true;
    s.produce(5);
    expect(await s.out.flush()).toBe(5);
    expect(await s.out.flush()).toBe(0);
    expect(s.written).toEqual([10, 20, 5]);
    expect(s.out.written).toBe(35);
    expect(s.recorder.stats).toMatchObject({ transferred: 35, precopyBytes: 30, downtimeBytes: 5 });
  });

  it('lets the saver reuse what the sink has flushed before it drains', async () => {
    const s = setup({ bytesFlushed: 1234 });
    await s.out.flush();
    expect(s.calls).toEqual(['recycle 1234', 'drain']);
    const noCount = setup();
    await noCount.out.flush();
    expect(noCount.calls).toEqual(['drain']); // the sink cannot tell: no recycling
  });

  it("a failed write fails the migration ('write') naming the cause", async () => {
    const s = setup({ failAt: 1 });
    s.produce(10, 20, 30);
    const err = await s.out.flush().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err).toMatchObject({ phase: 'write', message: 'migration stream write failed: write EPIPE' });
    expect(s.written).toEqual([10]);
  });

  it('a cancel stops before the next chunk; a write that fails after a cancel is the cancel', async () => {
    const s = setup({ onWrite: (n) => n === 2 && s.ac.abort() });
    s.produce(1, 2, 3, 4);
    await expect(s.out.flush()).rejects.toBeInstanceOf(CancelRequested);
    expect(s.written).toEqual([1, 2]);
    const f = setup({ failAt: 1, abortOnFail: true });
    f.produce(1, 2);
    await expect(f.out.flush()).rejects.toBeInstanceOf(CancelRequested);
    expect(f.written).toEqual([1]);
  });
});
