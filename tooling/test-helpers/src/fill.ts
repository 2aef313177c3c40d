// Deterministic file content: a seeded mix of random units and zero units, written 1 MiB at a time.
// Guest RAM uses 4 KiB pages as units (fillRamFile); disks use sectors up to 1 MiB chunks (disk.ts).
import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export const PAGE_SIZE = 4096;
const CHUNK = 1 << 20;

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

/** What fillSeeded needs: the unit is zero-or-random as a whole; the label keeps RAM and disk streams apart. */
export interface SeededFill {
  seed: number;
  zeroFraction: number;
  /** A power of two from 512 to 1 MiB. */
  unitBytes: number;
  /** Keys the keystream: `${label}:${seed}`. */
  label: string;
  /** When given, exactly these unit indices are zero (zeroFraction is ignored). */
  zeroUnits?: ReadonlySet<number>;
}

/** splitmix32-style PRNG step, used once per unit to decide zero or random. */
function nextU32(state: Uint32Array): number {
  let z = (state[0] = (state[0]! + 0x9e3779b9) >>> 0);
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Writes `sizeBytes` to `path` (truncating it): each unit is zero with probability `zeroFraction`, else
 * random; a last partial unit is decided like a whole one. Random bytes are an AES-256-CTR keystream keyed by
 * label and seed, so the content is fully determined by the options and is produced at memory speed.
 * Returns how many units (the last partial one included) are zero and random.
 */
export async function fillSeeded(path: string, sizeBytes: number, o: SeededFill): Promise<{ zeroUnits: number; dataUnits: number }> {
  const unit = o.unitBytes;
  if (!Number.isInteger(unit) || unit < 512 || unit > CHUNK || (unit & (unit - 1)) !== 0) {
    throw new RangeError(`fill: unitBytes must be a power of two from 512 to ${CHUNK}, got ${unit}`);
  }
  const key = createHash('sha256').update(`${o.label}:${o.seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  const state = new Uint32Array([o.seed >>> 0]);
  const threshold = Math.floor(o.zeroFraction * 0x1_0000_0000);
  const result = { zeroUnits: 0, dataUnits: 0 };
  let index = 0;

  const fh = await open(path, 'w');
  try {
    let written = 0;
    while (written < sizeBytes) {
      const len = Math.min(CHUNK, sizeBytes - written);
      const chunk = cipher.update(len === CHUNK ? zeros : zeros.subarray(0, len));
      for (let off = 0; off < len; off += unit, index++) {
        const roll = nextU32(state);
        if (o.zeroUnits !== undefined ? o.zeroUnits.has(index) : roll < threshold) {
          chunk.fill(0, off, Math.min(off + unit, len));
          result.zeroUnits++;
        } else {
          result.dataUnits++;
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

export function checkFillOptions(fn: string, opts: { seed: number; zeroFraction: number }): void {
  if (!(opts.zeroFraction >= 0 && opts.zeroFraction <= 1)) {
    throw new RangeError(`${fn}: zeroFraction must be within 0..1, got ${opts.zeroFraction}`);
  }
  if (!Number.isInteger(opts.seed)) throw new RangeError(`${fn}: seed must be an integer, got ${opts.seed}`);
}

/**
 * Writes `sizeBytes` (a multiple of 4096) to `path`: each page is zero with probability `zeroFraction`,
 * else random. The content is fully determined by (seed, zeroFraction, sizeBytes).
 */
export async function fillRamFile(path: string, sizeBytes: number, opts: FillOptions): Promise<FillResult> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE !== 0) {
    throw new RangeError(`fillRamFile: sizeBytes must be a positive multiple of ${PAGE_SIZE}, got ${sizeBytes}`);
  }
  checkFillOptions('fillRamFile', opts);
  const r = await fillSeeded(path, sizeBytes, { ...opts, unitBytes: PAGE_SIZE, label: 'mig-fill' });
  return { zeroPages: r.zeroUnits, dataPages: r.dataUnits };
}
