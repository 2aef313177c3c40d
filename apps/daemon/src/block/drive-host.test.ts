// The drive channel with a real worker thread (test/fixtures/drive-worker.mjs, running the built
// remote-drives.js: `pnpm test` builds first) against raw and qcow2 images in a temporary directory.
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CHUNK_SIZE, createQcow2, openDiskImage, type DiskImage } from '@mig/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Drive } from './drive.js';
import { openDriveChannel, type DriveHost } from './drive-host.js';
import { Drives } from './drives.js';

const MiB = 1 << 20;

/** What the main side saw of the buffers it was handed, and how many requests it held at once. */
interface ImageWatch {
  calls: number;
  /** Calls whose buffer was not the worker's posted 1 MiB shared buffer itself. */
  foreignBuffers: number;
  active: number;
  peak: number;
  /** While set, requests wait until this many have been active at once (or 3 s pass). */
  barrier: number;
  barrierReached: boolean;
}

function watched(image: DiskImage, watch: ImageWatch): DiskImage {
  const track = async (buf: Uint8Array, io: () => Promise<void>): Promise<void> => {
    watch.calls++;
    if (!(buf.buffer instanceof SharedArrayBuffer) || buf.byteOffset !== 0 || buf.byteLength !== CHUNK_SIZE) watch.foreignBuffers++;
    watch.active++;
    watch.peak = Math.max(watch.peak, watch.active);
    try {
      if (watch.active >= watch.barrier) watch.barrierReached = true;
      const deadline = Date.now() + 3000;
      while (watch.barrier > 0 && !watch.barrierReached && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      await io();
    } finally {
      watch.active--;
    }
  };
  return Object.assign(Object.create(image) as DiskImage, {
    read: (offset: number, buf: Uint8Array, bufOffset: number, len: number) => track(buf, () => image.read(offset, buf, bufOffset, len)),
    write: (offset: number, buf: Uint8Array, bufOffset: number, len: number) => track(buf, () => image.write(offset, buf, bufOffset, len)),
  });
}

let dir = '';
const state = { runstate: 'inmigrate' };
const gate = new Drives(() => state.runstate);
const watch: ImageWatch = { calls: 0, foreignBuffers: 0, active: 0, peak: 0, barrier: 0, barrierReached: false };
/** The images under the watch, for the test's own reads. */
const images: DiskImage[] = [];
let drives: Drive[] = [];
let host: DriveHost;
let worker: Worker;
let seq = 0;
const replies = new Map<number, (r: { ok: boolean; value?: unknown; error?: string }) => void>();

/** Runs a task of the worker and returns its value (or rejects with its error text). */
async function task<T>(name: string, ...args: unknown[]): Promise<T> {
  const id = ++seq;
  const reply = await new Promise<{ ok: boolean; value?: unknown; error?: string }>((resolve) => {
    replies.set(id, resolve);
    worker.postMessage({ seq: id, task: name, args });
  });
  if (!reply.ok) throw new Error(reply.error);
  return reply.value as T;
}

const sha = (buf: Uint8Array) => createHash('sha256').update(buf).digest('hex');

async function mainRead(d: Drive, offset: number, len: number): Promise<Uint8Array> {
  const buf = new Uint8Array(len);
  await images[drives.indexOf(d)]!.read(offset, buf, 0, len);
  return buf;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mig-drive-host-'));
  await writeFile(join(dir, 'd0.raw'), randomFillSync(Buffer.alloc(4 * MiB)));
  await createQcow2(join(dir, 'd1.qcow2'), { virtualSize: 4 * MiB });
  await writeFile(join(dir, 'r0.raw'), Buffer.alloc(MiB + 512, 9));
  const open = async (id: string, file: string, format: 'raw' | 'qcow2', readOnly: boolean, node: string) => {
    const image = await openDiskImage(join(dir, file), { format, readOnly });
    images.push(image);
    return new Drive(id, node, file, watched(image, watch), gate);
  };
  drives = [await open('d0', 'd0.raw', 'raw', false, '#block101'), await open('d1', 'd1.qcow2', 'qcow2', false, '#block302'), await open('r0', 'r0.raw', 'raw', true, '#block503')];
  const channel = openDriveChannel(drives);
  host = channel.host;
  worker = new Worker(new URL('../../test/fixtures/drive-worker.mjs', import.meta.url), {
    workerData: { port: channel.port, infos: drives.map((d) => d.workerInfo()) },
    transferList: [channel.port],
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { ready?: boolean; seq?: number; ok: boolean }) => {
      if (m.ready) resolve();
      else replies.get(m.seq!)?.(m);
    });
  });
});

afterAll(async () => {
  await worker?.terminate();
  for (const image of images) await image.close();
  await rm(dir, { recursive: true, force: true });
});

describe('DriveHost and remote drives', () => {
  it("writes from the worker land in raw and qcow2 images as a migration's (no dirty bit, allowed while inmigrate)", async () => {
    await task('write', 'd0', MiB, MiB, 0xab);
    await task('write', 'd1', 2 * MiB + 4096, 8192, 0x5a);
    await task('writeZeroes', 'd0', 3 * MiB, 64 << 10);
    await task('flush', 'd0');
    await task('flush', 'd1');
    expect((await mainRead(drives[0]!, MiB, MiB)).every((b) => b === 0xab)).toBe(true);
    expect((await mainRead(drives[0]!, 3 * MiB, 64 << 10)).every((b) => b === 0)).toBe(true);
    const q = await mainRead(drives[1]!, 2 * MiB, 3 * 4096);
    expect([q[4095], q[4096], q[12287]]).toEqual([0, 0x5a, 0x5a]);
    expect(drives.map((d) => d.dirty.count())).toEqual([0, 0, 0]);
  });

  it('reads in the worker equal the images as the main thread reads them', async () => {
    for (const [i, offset, len] of [[0, 0, MiB], [0, 3 * MiB + 100, 4000], [1, 2 * MiB, MiB], [2, MiB, 512]] as const) {
      expect(await task('read', drives[i]!.id, offset, len)).toBe(sha(await mainRead(drives[i]!, offset, len)));
    }
  });

  it("the main side uses the worker's posted shared buffer in place, and no reply carries data", async () => {
    const before = watch.calls;
    await task('read', 'd0', 0, 4096);
    await task('write', 'd0', 0, 4096, 1);
    expect(watch.calls - before).toBe(2);
    expect(watch.foreignBuffers).toBe(0);
    expect(await task<string[]>('replyKeys')).toEqual(['id', 'ok']);
    await expect(task('readIntoPlainBuffer', 'd0')).rejects.toThrow(/TypeError: drive 'd0': read needs a buffer over a SharedArrayBuffer/);
  });

  it('serves many requests at once: 24 reads are all in flight on the main side before any completes', async () => {
    watch.barrier = 24;
    watch.barrierReached = false;
    watch.peak = 0;
    try {
      const hashes = await task<string[]>('manyReads', 'd0', 24, 256 << 10);
      expect(watch.peak).toBe(24);
      const expected = await Promise.all(hashes.map(async (_, i) => sha(await mainRead(drives[0]!, (i % 16) * (256 << 10), 256 << 10))));
      expect(hashes).toEqual(expected);
    } finally {
      watch.barrier = 0;
    }
    expect(host.inFlight).toBe(0);
  });

  it('errors come back as their classes: a read past the end, a write to a read-only drive, an unknown drive', async () => {
    const past = await task<Record<string, unknown>>('failure', 'read', 'd0', 4 * MiB - 512, 1024);
    expect(past).toMatchObject({ name: 'RangeError', rangeError: true });
    expect(past.message).toMatch(/d0\.raw: read: range 4193792\+1024 ends past the virtual size 4194304$/);
    expect(await task('failure', 'write', 'r0', 0, 512, 1)).toMatchObject({
      name: 'DriveError', driveError: true, refusal: 'read-only', message: "drive 'r0' is read-only (readonly=on)",
    });
    expect(await task('failure', 'writeZeroes', 'r0', 0, 512)).toMatchObject({ driveError: true, refusal: 'read-only' });
    const unknown = await task<Record<string, unknown>>('failure', 'flushUnknownDrive');
    expect(unknown.message).toBe("drive host: no drive 'nope' (has d0, d1, r0)");
    // a failed request leaves the channel working
    expect(await task('read', 'r0', 0, 512)).toBe(sha(new Uint8Array(512).fill(9)));
  });

  it("a source device's dirty bitmap is the drive's own: the guest's bits show in the worker, its clears in the main thread", async () => {
    state.runstate = 'running';
    try {
      await drives[0]!.write(3 * MiB + 10, new Uint8Array(100), 100);
      expect(await task('dirtyChunks', 'd0')).toEqual([3]);
      expect(await task('clearDirty', 'd0', 3)).toBe(true);
      expect(drives[0]!.dirty.count()).toBe(0);
    } finally {
      state.runstate = 'inmigrate';
    }
  });

  it('allocation answers what the top image allocates', async () => {
    const extents = await task<Array<{ offset: number; length: number; allocated: boolean }>>('allocation', 'd1', 0, 4 * MiB);
    expect(extents.filter((e) => e.allocated).map((e) => [e.offset, e.length])).toEqual([[2 * MiB, 64 << 10]]);
  });
});

describe('the drive port', () => {
  it('keeps a worker alive only while a request is in flight', async () => {
    const d = drives[0]!;
    const channel = openDriveChannel([d]);
    const w = new Worker(new URL('../../test/fixtures/drive-worker.mjs', import.meta.url), {
      workerData: { port: channel.port, infos: [d.workerInfo()] },
      transferList: [channel.port],
    });
    const exited = new Promise<number>((resolve) => w.once('exit', resolve));
    await new Promise<void>((resolve) => w.once('message', () => resolve()));
    const answered = new Promise<{ ok: boolean; value?: unknown }>((resolve) => w.once('message', resolve));
    w.postMessage({ seq: 1, task: 'readThenLeave', args: ['d0'] });
    expect(await answered).toMatchObject({ ok: true });
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 5000))]);
    await w.terminate();
    expect(code).toBe(0);
    await channel.host.close();
  });
});
