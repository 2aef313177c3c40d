// qemu-img for tests: blank disks, qcow2 overlays, consistency checks, image info, and content hashes that
// compare a qcow2 image (with its backing chain) to a raw one.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from './files.js';

export const QEMU_IMG = 'qemu-img';
export type DiskFormat = 'raw' | 'qcow2';

export class QemuImgError extends Error {
  constructor(readonly args: readonly string[], readonly exitCode: number | null, readonly stderr: string) {
    super(`${QEMU_IMG} ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || 'no stderr'}`);
    this.name = 'QemuImgError';
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs qemu-img; resolves with the exit code when it is one of `okCodes`, else rejects with QemuImgError. */
function qemuImg(args: string[], okCodes: readonly number[] = [0]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(QEMU_IMG, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      if (code !== null && okCodes.includes(code)) resolve({ code, stdout, stderr });
      else reject(new QemuImgError(args, code, err !== null && code === null ? `${err.message} ${stderr}` : stderr));
    });
  });
}

/** A new all-zero image of `sizeBytes` (`qemu-img create`), e.g. a block-migration target. */
export async function createBlankDisk(path: string, sizeBytes: number, format: DiskFormat): Promise<void> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new RangeError(`createBlankDisk: sizeBytes must be a positive integer, got ${sizeBytes}`);
  await qemuImg(['create', '-q', '-f', format, path, String(sizeBytes)]);
}

export interface OverlayOptions {
  /** Format of the backing file. Default raw. */
  baseFormat?: DiskFormat;
  /** qcow2 cluster size in bytes (QEMU's default is 64 KiB). */
  clusterSize?: number;
}

/** `qemu-img create -f qcow2 -b BASE -F FMT PATH`: an empty overlay of BASE's size that reads through to BASE. */
export async function createQcow2Overlay(path: string, base: string, opts: OverlayOptions = {}): Promise<void> {
  const args = ['create', '-q', '-f', 'qcow2', '-b', base, '-F', opts.baseFormat ?? 'raw'];
  if (opts.clusterSize !== undefined) args.push('-o', `cluster_size=${opts.clusterSize}`);
  await qemuImg([...args, path]);
}

export interface QemuImgCheckResult {
  filename: string;
  format: string;
  checkErrors: number;
  corruptions: number;
  leaks: number;
  /** qemu-img's exit code: 0 clean, 2 corruptions, 3 leaks only. */
  exitCode: number;
  /** Everything qemu-img reported (image-end-offset, total-clusters, ...). */
  raw: Record<string, unknown>;
}

/** `qemu-img check --output=json` (qcow2; raw images have no check). A corrupt image resolves; only a failed check rejects. */
export async function qemuImgCheck(path: string, format: DiskFormat = 'qcow2'): Promise<QemuImgCheckResult> {
  const args = ['check', '--output=json', '-f', format, path];
  const r = await qemuImg(args, [0, 2, 3]);
  const raw = parseJsonObject(r.stdout, args);
  const num = (k: string): number => (typeof raw[k] === 'number' ? (raw[k] as number) : 0);
  return {
    filename: String(raw.filename),
    format: String(raw.format),
    checkErrors: num('check-errors'),
    corruptions: num('corruptions'),
    leaks: num('leaks'),
    exitCode: r.code,
    raw,
  };
}

export interface QemuImgInfo {
  format: string;
  virtualSize: number;
  actualSize?: number;
  clusterSize?: number;
  backingFilename?: string;
  raw: Record<string, unknown>;
}

/** `qemu-img info --output=json`. */
export async function qemuImgInfo(path: string, format?: DiskFormat): Promise<QemuImgInfo> {
  const args = ['info', '--output=json', ...(format !== undefined ? ['-f', format] : []), path];
  const raw = parseJsonObject((await qemuImg(args)).stdout, args);
  const opt = (k: string): number | undefined => (typeof raw[k] === 'number' ? (raw[k] as number) : undefined);
  return {
    format: String(raw.format),
    virtualSize: Number(raw['virtual-size']),
    actualSize: opt('actual-size'),
    clusterSize: opt('cluster-size'),
    backingFilename: typeof raw['backing-filename'] === 'string' ? raw['backing-filename'] : undefined,
    raw,
  };
}

/**
 * sha256 (hex) of the guest-visible content: a raw file is hashed as it is; a qcow2 image is first
 * converted to raw (`qemu-img convert -O raw`, backing chain included) in a temp dir that is removed after.
 */
export async function sha256Disk(path: string, format: DiskFormat): Promise<string> {
  if (format === 'raw') return sha256File(path);
  const dir = await mkdtemp(join(tmpdir(), 'mig-sha256disk-'));
  try {
    const out = join(dir, 'disk.raw');
    await qemuImg(['convert', '-f', format, '-O', 'raw', path, out]);
    return await sha256File(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parseJsonObject(text: string, args: readonly string[]): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new QemuImgError(args, 0, `output is not JSON (${(err as Error).message}): ${text.slice(0, 200)}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new QemuImgError(args, 0, `output is not a JSON object: ${text.slice(0, 200)}`);
  return v as Record<string, unknown>;
}
