// QEMU's own XBZRLE vectors (XBZV1, 3059 of them) from shared/xbzrle/ beside the repository (format in its
// README.md). MIG_XBZRLE_VECTORS names another path. Missing file: the tests skip with a message locally and
// fail in CI, where shared/ is always laid beside the clone.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const RELATIVE = 'shared/xbzrle/xbzrle-qemu-vectors.bin.gz';
/** The repository's parent first (where CI lays shared/), then up to two folders above it. */
const CANDIDATES = ['../../../../', '../../../../../', '../../../../../../'].map((up) =>
  fileURLToPath(new URL(up + RELATIVE, import.meta.url)),
);

export const VECTORS_PATH =
  process.env['MIG_XBZRLE_VECTORS'] ?? CANDIDATES.find((path) => existsSync(path)) ?? CANDIDATES[0]!;

export const hasVectors = existsSync(VECTORS_PATH);
if (!hasVectors && process.env['CI']) {
  throw new Error(`QEMU XBZRLE vectors not found at ${VECTORS_PATH} (shared/ must lie beside the repository in CI)`);
}
export const VECTORS_SKIP = `QEMU XBZRLE vectors not found at ${VECTORS_PATH}: set MIG_XBZRLE_VECTORS`;

export interface Vector { index: number; pageSize: number; old: Uint8Array; neu: Uint8Array; encLen: number; enc: Uint8Array }

export function loadVectors(): Vector[] {
  if (!hasVectors) return [];
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
