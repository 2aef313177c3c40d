// Deterministic guest RAM content: a seeded mix of random pages and zero pages, written 1 MiB at a time.
import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export const PAGE_SIZE = 4096;
const CHUNK = 1 << 20;
const PAGES_PER_CHUNK = CHUNK / PAGE_SIZE;

export interface FillOptions {
  /** Same seed → same bytes. */
  seed: number;
  /** Fraction of pages, 0..1, that are all zero (the rest are random bytes). */
  zeroFraction: number;
}

export interface FillResult {
  zeroPages: number;
  dataPages: number;
}

/** splitmix32-style PRNG step, used once per page to decide zero or random. */
function nextU32(state: Uint32Array): number {
  let z = (state[0] = (state[0]! + 0x9e3779b9) >>> 0);
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Writes `sizeBytes` (a multiple of 4096) to `path`: each page is zero with probability `zeroFraction`,
 * else random. Random bytes are an AES-256-CTR keystream keyed by the seed, so the content is fully
 * determined by (seed, zeroFraction, sizeBytes) and is produced at memory speed.
 */
export async function fillRamFile(path: string, sizeBytes: number, opts: FillOptions): Promise<FillResult> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE !== 0) {
    throw new RangeError(`fillRamFile: sizeBytes must be a positive multiple of ${PAGE_SIZE}, got ${sizeBytes}`);
  }
  if (!(opts.zeroFraction >= 0 && opts.zeroFraction <= 1)) {
    throw new RangeError(`fillRamFile: zeroFraction must be within 0..1, got ${opts.zeroFraction}`);
  }
  if (!Number.isInteger(opts.seed)) throw new RangeError(`fillRamFile: seed must be an integer, got ${opts.seed}`);

  const key = createHash('sha256').update(`mig-fill:${opts.seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  const state = new Uint32Array([opts.seed >>> 0]);
  const threshold = Math.floor(opts.zeroFraction * 0x1_0000_0000);
  const result: FillResult = { zeroPages: 0, dataPages: 0 };

  const fh = await open(path, 'w');
  try {
    let written = 0;
    while (written < sizeBytes) {
      const len = Math.min(CHUNK, sizeBytes - written);
      const chunk = cipher.update(len === CHUNK ? zeros : zeros.subarray(0, len));
      const pages = len / PAGE_SIZE;
      for (let p = 0; p < pages && p < PAGES_PER_CHUNK; p++) {
        if (nextU32(state) < threshold) {
          chunk.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
          result.zeroPages++;
        } else {
          result.dataPages++;
        }
      }
      let off = 0;
      while (off < len) {
        const { bytesWritten } = await fh.write(chunk, off, len - off, written + off);
        off += bytesWritten;
      }
      written += len;
    }
  } finally {
    await fh.close();
  }
  return result;
}
