import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { completeDiskWorkload, type DiskWorkloadConfig } from './disk-workload-config.js';
import { DiskWorkload, type DiskWorkloadDrive } from './disk-workload.js';
import { DiskWorkloads } from './disk-workloads.js';

const MiB = 1 << 20;
const KiB = 1024;

/** A drive that records writes; `hold` keeps them in flight until released. */
function recordingDrive(size = 8 * MiB) {
  const writes: Array<{ op: 'write' | 'zeroes'; offset: number; len: number; data?: Uint8Array }> = [];
  const held: Array<() => void> = [];
  const state = { hold: false, refuse: undefined as Error | undefined };
  const finish = (): Promise<void> => {
    if (state.refuse) return Promise.reject(state.refuse);
    return state.hold ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve();
  };
  const drive: DiskWorkloadDrive & { readOnly: boolean } = {
    id: 'd0', size, readOnly: false,
    write: (offset, buf, len) => {
      writes.push({ op: 'write', offset, len, data: buf.slice(0, len) });
      return finish();
    },
    writeZeroes: (offset, len) => {
      writes.push({ op: 'zeroes', offset, len });
      return finish();
    },
  };
  return { drive, writes, held, state };
}

const config = (over: Partial<DiskWorkloadConfig> = {}, size = 8 * MiB) => completeDiskWorkload({ rate: 100 * 64 * KiB, ...over }, size);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DiskWorkload', () => {
  it('writes rate / block times a second, block-aligned inside the region, while started and the guest runs', async () => {
    const { drive, writes } = recordingDrive();
    const w = new DiskWorkload(drive, 1);
    w.configure(config({ offset: MiB, length: 4 * MiB }));
    w.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes).toHaveLength(0); // the guest is not running
    w.setGuestRunning(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes.length).toBeGreaterThanOrEqual(98);
    expect(writes.length).toBeLessThanOrEqual(101);
    for (const { offset, len } of writes) {
      expect(len).toBe(64 * KiB);
      expect(offset % (64 * KiB)).toBe(0);
      expect(offset >= MiB && offset + len <= 5 * MiB).toBe(true);
    }
    expect(new Set(writes.map((x) => x.offset)).size).toBeGreaterThan(30);
    const info = w.info();
    expect(info).toMatchObject({ drive: 'd0', active: true, running: true, rate: 6553600, offset: MiB, length: 4 * MiB, pattern: 'random', block: 65536, errors: 0 });
    expect([info.writes, info.bytes]).toEqual([writes.length, writes.length * 64 * KiB]);
    expect(info['last-offsets']).toEqual(writes.slice(-8).map((x) => x.offset));
  });

  it('stops writing at once when the guest stops (the switchover) and goes on when it runs again', async () => {
    const { drive, writes } = recordingDrive();
    const w = new DiskWorkload(drive, 2);
    w.configure(config());
    w.setGuestRunning(true);
    w.start();
    await vi.advanceTimersByTimeAsync(200);
    w.setGuestRunning(false);
    const atStop = writes.length;
    expect(atStop).toBeGreaterThan(10);
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes.length).toBe(atStop);
    expect(w.info().running).toBe(false);
    w.setGuestRunning(true);
    await vi.advanceTimersByTimeAsync(100);
    // no burst for the time it was stopped
    expect(writes.length - atStop).toBeLessThanOrEqual(11);
  });

  it('keeps at most 8 writes in flight; close waits for them', async () => {
    const { drive, writes, held, state } = recordingDrive();
    state.hold = true;
    const w = new DiskWorkload(drive, 3);
    w.configure(config({ rate: 10_000 * 64 * KiB }));
    w.setGuestRunning(true);
    w.start();
    await vi.advanceTimersByTimeAsync(500);
    expect([writes.length, w.inFlight]).toEqual([8, 8]);
    let closed = false;
    const close = w.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(50);
    expect(closed).toBe(false);
    for (const release of held) release();
    await close;
    expect([w.inFlight, w.info().writes, writes.length]).toEqual([0, 8, 8]);
  });

  it('patterns: random data, sparse (zero but a stamp every 4 KiB), zero (write-zeroes requests)', async () => {
    const { drive, writes } = recordingDrive();
    const w = new DiskWorkload(drive, 4);
    w.setGuestRunning(true);
    w.configure(config({ pattern: 'random', block: 8 * KiB }));
    w.start();
    await vi.advanceTimersByTimeAsync(20);
    w.configure(config({ pattern: 'sparse', block: 8 * KiB }));
    await vi.advanceTimersByTimeAsync(20);
    w.configure(config({ pattern: 'zero', block: 8 * KiB }));
    await vi.advanceTimersByTimeAsync(20);
    w.stop();
    const random = writes.find((x) => x.data !== undefined && x.data[100] !== 0)!;
    expect(random.data!.filter((b) => b === 0).length).toBeLessThan(200);
    const sparse = writes.filter((x) => x.op === 'write' && x.data!.filter((b) => b !== 0).length <= 8);
    expect(sparse.length).toBeGreaterThan(0);
    for (const s of sparse) {
      const nonZero = [...s.data!.keys()].filter((i) => s.data![i] !== 0);
      expect(nonZero.every((i) => i % 4096 < 4)).toBe(true);
    }
    expect(new Set(sparse.map((s) => s.data![0])).size).toBe(sparse.length); // each write's stamp is new
    expect(writes.filter((x) => x.op === 'zeroes').length).toBeGreaterThan(0);
  });

  it('counts refused writes with the reason and keeps going', async () => {
    const { drive, state } = recordingDrive();
    state.refuse = new Error("drive 'd0' is inactive: the migration is switching over (runstate finish-migrate)");
    const w = new DiskWorkload(drive, 5);
    w.configure(config());
    w.setGuestRunning(true);
    w.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(w.info().errors).toBeGreaterThan(5);
    expect(w.info()['last-error']).toMatch(/is inactive/);
    expect(w.info().writes).toBe(0);
  });

  it('needs settings before it starts; checks them against the drive', () => {
    const w = new DiskWorkload(recordingDrive(MiB).drive);
    expect(() => w.start()).toThrow("the disk workload of drive 'd0' has no settings yet");
    expect(() => w.configure({ rate: 1, offset: 0, length: 2 * MiB, pattern: 'random', block: 4096 })).toThrow('is outside the drive of 1048576 bytes');
  });
});

describe('DiskWorkloads', () => {
  it('makes one workload per writable drive, following the guest', async () => {
    const { drive, writes } = recordingDrive();
    const ro = { ...recordingDrive().drive, id: 'r0', readOnly: true };
    const all = new DiskWorkloads({ get: (id) => [drive, ro].find((d) => d.id === id), list: [drive, ro] });
    expect(() => all.of('nope')).toThrow("there is no drive 'nope' (drives: d0, r0)");
    expect(() => all.of('r0')).toThrow("drive 'r0' is read-only");
    const w = all.of('d0');
    expect(all.of('d0')).toBe(w);
    w.configure(config());
    w.start();
    all.setGuestRunning(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(writes.length).toBeGreaterThan(5);
    expect(all.info().map((i) => i.drive)).toEqual(['d0']);
    await all.close();
    expect(all.info()[0]!.active).toBe(false);
  });
});
