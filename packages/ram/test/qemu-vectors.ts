// QEMU's own XBZRLE vectors (XBZV1, 3059 of them), kept in this package's test fixtures; the format and how they
// were made: docs/xbzrle-format.md.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const VECTORS_PATH = fileURLToPath(new URL('./fixtures/xbzrle/xbzrle-qemu-vectors.bin.gz', import.meta.url));

export interface Vector { index: number; pageSize: number; old: Uint8Array; neu: Uint8Array; encLen: number; enc: Uint8Array }

export function loadVectors(): Vector[] {
  const raw = gunzipSync(readFileSync(VECTORS_PATH));
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = Buffer.from(raw.subarray(0, 8));
  if (!magic.equals(Buffer.from('XBZV1\0\0\0', 'latin1'))) throw new Error(`bad magic ${magic.toString('hex')}`);
  const count = dv.getUint32(8, true);
  const out: Vector[] = [];
  let o = 12;
  for (let index = 0; index < count; index++) {
    const pageSize = dv.getUint32(o, true); o += 4;
    const old = raw.subarray(o, o + pageSize); o += pageSize;
    const neu = raw.subarray(o, o + pageSize); o += pageSize;
    const encLen = dv.getInt32(o, true); o += 4;
    const n = Math.max(encLen, 0);
    const enc = raw.subarray(o, o + n); o += n;
    out.push({ index, pageSize, old, neu, encLen, enc });
  }
  if (o !== raw.length) throw new Error(`trailing ${raw.length - o} bytes after ${count} vectors`);
  return out;
}
