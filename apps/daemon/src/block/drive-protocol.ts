// Requests from a migration worker to the drives in the main thread (DriveHost), over a MessagePort. Chunk
// data never travels in a message: `buf` is a Uint8Array over a SharedArrayBuffer, which postMessage shares,
// so the host reads into and writes from the worker's memory in place. Each request has an id; its reply
// carries the same id (many are in flight at once, answered in completion order). Errors travel as
// @mig/core WireErrors.
import type { AllocationExtent } from '@mig/block';
import type { WireError } from '@mig/core';

/** What a worker is told of each drive (by workerData): enough to make its BlockSource/TargetDevice. */
export interface WorkerDriveInfo {
  /** The drive id: names the drive in requests and in the block stream. */
  name: string;
  size: number;
  readOnly: boolean;
  /** The drive's dirty bitmap words (DirtyBitmap, one bit per 1 MiB chunk, ceil(size / 1 MiB) bits). */
  dirty: SharedArrayBuffer;
}

export type DriveRequest =
  /** Fill buf[0, len) with the drive's bytes at offset. */
  | { op: 'read'; id: number; drive: string; offset: number; len: number; buf: Uint8Array }
  /** Write buf[0, len) at offset: an incoming migration's write (not the guest's: no dirty bit). */
  | { op: 'write'; id: number; drive: string; offset: number; len: number; buf: Uint8Array }
  | { op: 'writeZeroes'; id: number; drive: string; offset: number; len: number }
  /** What the top image itself allocates in [offset, offset + len). */
  | { op: 'allocation'; id: number; drive: string; offset: number; len: number }
  | { op: 'flush'; id: number; drive: string };

export type DriveOp = DriveRequest['op'];

export type DriveReply =
  | { id: number; ok: true; extents?: AllocationExtent[] }
  | { id: number; ok: false; error: WireError };
