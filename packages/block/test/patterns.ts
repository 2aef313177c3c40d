// Deterministic test data and whole-image helpers.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiskImage } from '../src/index.js';
import { qemuImg } from './qemu-tools.js';

/** mulberry32: a small seeded PRNG so a failing case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let i = 0;
  for (; i + 4 <= len; i += 4) b.writeUInt32LE((rand() * 4294967296) >>> 0, i);
  for (; i < len; i++) b[i] = (rand() * 256) | 0;
  return b;
}

export function randomInt(rand: () => number, below: number): number {
  return Math.floor(rand() * below);
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The whole virtual disk as we read it. */
export async function readAll(image: DiskImage, chunk = 1 << 20): Promise<Buffer> {
  const out = Buffer.alloc(image.virtualSize);
  for (let o = 0; o < out.length; o += chunk) await image.read(o, out, o, Math.min(chunk, out.length - o));
  return out;
}

/** The whole virtual disk as QEMU reads it (qemu-img convert -O raw into dir). */
export async function qemuRawBytes(image: string, dir: string): Promise<Buffer> {
  const out = join(dir, `converted-${Math.random().toString(36).slice(2)}.raw`);
  await qemuImg('convert', '-O', 'raw', image, out);
  return readFile(out);
}
