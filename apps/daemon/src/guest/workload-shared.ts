// The memory the main thread and the workload worker share: run control, settings and counters. The worker
// never waits on a message: it reads these at every batch, so a stop takes effect before the next write.
import type { HostMemoryHandle } from './host-memory.js';

/** Int32 cells. */
export const CTRL_RUN = 0; // 1: write, 0: paused, 2: exit (set by the main thread)
export const CTRL_ACK = 1; // 1 while the worker may be writing, 0 once it is idle (set by the worker)
export const CTRL_PATTERN = 2; // index in WORKLOAD_PATTERNS
export const CTRL_THROTTLE = 3; // percent, 0..99
export const CTRL_GEN = 4; // bumped at each settings change
export const CTRL_INTS = 8;

/** Float64 cells (after the Int32 block). */
export const CFG_RATE = 0; // page writes per second (before throttle)
export const CFG_WSS_PAGES = 1;
export const CFG_OFFSET = 2; // guest-physical address of the working set
export const CFG_WRITES = 3; // page writes done (written by the worker only)
export const CFG_SEED = 4;
export const CFG_FLOATS = 8;

export const CONTROL_BYTES = CTRL_INTS * 4 + CFG_FLOATS * 8;

export interface WorkloadBlock {
  guestAddress: number;
  handle: HostMemoryHandle;
  /** The block's shared dirty bitmap (DirtyBitmap words: one bit per page, bit p & 31 of word p >>> 5). */
  dirty: SharedArrayBuffer;
}

export interface WorkloadWorkerData {
  control: SharedArrayBuffer;
  blocks: WorkloadBlock[];
}

export function controlViews(buffer: SharedArrayBuffer): { ctrl: Int32Array; cfg: Float64Array } {
  return { ctrl: new Int32Array(buffer, 0, CTRL_INTS), cfg: new Float64Array(buffer, CTRL_INTS * 4, CFG_FLOATS) };
}
