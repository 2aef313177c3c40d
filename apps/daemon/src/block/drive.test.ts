import type { AllocationExtent, DiskImage } from '@mig/block';
import { describe, expect, it } from 'vitest';
import { Drive } from './drive.js';
import { DriveError } from './drive-error.js';
import { Drives } from './drives.js';

const MiB = 1 << 20;

/** An image whose writes finish only when the test says so. */
function heldImage(size: number, readOnly = false) {
  const held: Array<{ offset: number; len: number; finish(): void; fail(err: Error): void }> = [];
  const hold = (offset: number, len: number) =>
    new Promise<void>((resolve, reject) => held.push({ offset, len, finish: resolve, fail: reject }));
  const image: DiskImage = {
    path: '/held.raw', format: 'raw', virtualSize: size, readOnly, backing: undefined,
    read: async () => {},
    write: (offset, _buf, _bufOffset, len) => hold(offset, len),
    writeZeroes: (offset, len) => hold(offset, len),
    allocationStatus: async (offset, len): Promise<AllocationExtent[]> => [{ offset, length: len, allocated: true, zero: false }],
    flush: async () => {},
    close: async () => {},
  };
  return { image, held };
}

function drive(runstate = 'running', size = 4 * MiB, readOnly = false) {
  const state = { runstate };
  const drives = new Drives(() => state.runstate);
  const { image, held } = heldImage(size, readOnly);
  return { d: new Drive('d0', '#block123', '/held.raw', image, drives), drives, held, state };
}

const settled = () => new Promise((r) => setImmediate(r));

describe('Drive', () => {
  it('has a shared dirty bitmap of one bit per 1 MiB chunk, the last chunk partial', () => {
    const { d } = drive('running', 3 * MiB + 512);
    expect([d.dirty.pages, d.dirty.unitBytes, d.dirty.shared]).toEqual([4, MiB, true]);
    expect(d.size).toBe(3 * MiB + 512);
  });

  it('marks the chunks of a guest write dirty only after the image write has completed', async () => {
    const { d, held } = drive();
    const write = d.write(MiB - 512, new Uint8Array(1024), 1024);
    await settled();
    expect(held).toHaveLength(1);
    expect(d.dirty.count()).toBe(0);
    held[0]!.finish();
    await write;
    expect([d.dirty.test(0), d.dirty.test(1), d.dirty.test(2)]).toEqual([true, true, false]);
  });

  it('writeZeroes is a guest write too; a failed write marks nothing', async () => {
    const { d, held } = drive();
    const zero = d.writeZeroes(2 * MiB, MiB);
    held[0]!.finish();
    await zero;
    expect([...[0, 1, 2, 3].map((c) => d.dirty.test(c))]).toEqual([false, false, true, false]);
    const bad = d.write(0, new Uint8Array(8), 8);
    held[1]!.fail(new Error('EIO'));
    await expect(bad).rejects.toThrow('EIO');
    expect(d.dirty.test(0)).toBe(false);
  });

  it('migration writes mark nothing and are allowed while the guest waits for the stream', async () => {
    const { d, held } = drive('inmigrate');
    const w = d.migrationWrite(0, new Uint8Array(8), 8);
    const z = d.migrationWriteZeroes(MiB, 8);
    held.forEach((h) => h.finish());
    await Promise.all([w, z]);
    expect(d.dirty.count()).toBe(0);
  });

  it.each(['inmigrate', 'finish-migrate', 'postmigrate'])('refuses guest writes in %s, naming the drive and why', async (state) => {
    const { d, held } = drive(state);
    const err = (await d.write(0, new Uint8Array(8), 8).catch((e: unknown) => e)) as DriveError;
    expect(err).toBeInstanceOf(DriveError);
    expect(err).toMatchObject({ drive: 'd0', refusal: 'inactive' });
    expect(err.message).toMatch(new RegExp(`^drive 'd0' is inactive: .*\\(runstate ${state}\\)$`));
    await expect(d.writeZeroes(0, 8)).rejects.toThrow(/is inactive/);
    expect(held).toHaveLength(0);
  });

  it.each(['running', 'paused', 'prelaunch'])('allows guest writes in %s', async (state) => {
    const { d, held } = drive(state);
    const w = d.write(0, new Uint8Array(8), 8);
    held[0]!.finish();
    await w;
  });

  it('a read-only drive refuses guest and migration writes', async () => {
    const { d } = drive('running', MiB, true);
    expect(d.readOnly).toBe(true);
    await expect(d.write(0, new Uint8Array(8), 8)).rejects.toMatchObject({ refusal: 'read-only', message: "drive 'd0' is read-only (readonly=on)" });
    await expect(d.writeZeroes(0, 8)).rejects.toThrow('read-only');
    await expect(d.migrationWrite(0, new Uint8Array(8), 8)).rejects.toThrow('read-only');
  });
});

describe('Drives.drain', () => {
  it('resolves at once with no guest write in flight, else once the last one is done (failed ones too)', async () => {
    const { d, drives, held, state } = drive();
    await drives.drain();
    const a = d.write(0, new Uint8Array(8), 8);
    const b = d.write(MiB, new Uint8Array(8), 8).catch(() => {});
    expect(drives.guestWritesInFlight).toBe(2);
    let drained = false;
    const drain = drives.drain().then(() => (drained = true));
    state.runstate = 'finish-migrate'; // the migration stopped the guest: no new guest write
    await expect(d.write(2 * MiB, new Uint8Array(8), 8)).rejects.toThrow(/switching over/);
    held[0]!.finish();
    await a;
    await settled();
    expect(drained).toBe(false);
    held[1]!.fail(new Error('EIO'));
    await b;
    await drain;
    expect([drained, drives.guestWritesInFlight]).toEqual([true, 0]);
    // the write that completed before the drain resolved has its bit
    expect(d.dirty.test(0)).toBe(true);
  });

  it('migration writes are not waited for', async () => {
    const { d, drives } = drive('inmigrate');
    void d.migrationWrite(0, new Uint8Array(8), 8);
    await drives.drain();
  });
});
