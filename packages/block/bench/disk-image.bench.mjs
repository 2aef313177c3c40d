// Sequential read throughput of the disk-image layer (run after `pnpm --filter @mig/block build`):
//   node bench/disk-image.bench.mjs [MiB]        (default 256)
// Makes a raw image and a qcow2 image with the same bytes in os.tmpdir(), then reads each in 1 MiB
// chunks into one reused buffer, one request at a time and with 4 in flight, and prints MB/s. The files
// were just written, so this mostly measures the page cache plus our per-request work, not the disk.
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createQcow2, openDiskImage } from '../dist/index.js';

const MiB = Number(process.argv[2] ?? 256);
const SIZE = MiB << 20;
const CHUNK = 1 << 20;

const dir = await mkdtemp(join(tmpdir(), 'mig-block-bench-'));
try {
  const rawPath = join(dir, 'disk.raw');
  const qcowPath = join(dir, 'disk.qcow2');
  const chunk = Buffer.alloc(CHUNK);
  const raw = await open(rawPath, 'w');
  await createQcow2(qcowPath, { virtualSize: SIZE });
  const qcow = await openDiskImage(qcowPath);
  const tw = process.hrtime.bigint();
  for (let o = 0; o < SIZE; o += CHUNK) {
    randomFillSync(chunk);
    await raw.write(chunk, 0, CHUNK, o);
    await qcow.write(o, chunk, 0, CHUNK);
  }
  await raw.close();
  await qcow.close();
  console.log(`setup: raw + qcow2 (allocating writes) ${MiB} MiB each in ${ms(tw)} ms`);

  for (const path of [rawPath, qcowPath]) {
    const image = await openDiskImage(path, { readOnly: true });
    await sequential(image, 1); // warm-up
    for (const depth of [1, 4]) {
      const t0 = process.hrtime.bigint();
      await sequential(image, depth);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`${image.format.padEnd(5)} sequential 1 MiB reads, ${depth} in flight: ${(SIZE / s / 1e6).toFixed(0).padStart(6)} MB/s`);
    }
    await image.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Reads the whole image in 1 MiB chunks, `depth` requests in flight, each into its own reused buffer. */
async function sequential(image, depth) {
  const bufs = Array.from({ length: depth }, () => Buffer.alloc(CHUNK));
  let next = 0;
  await Promise.all(
    bufs.map(async (buf) => {
      for (let o = next; o < SIZE; o = next) {
        next += CHUNK;
        await image.read(o, buf, 0, Math.min(CHUNK, SIZE - o));
      }
    }),
  );
}

function ms(t0) {
  return (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0);
}
