// Messages between the daemon's main thread (QMP, run state) and a migration worker thread (the stream).
import type { SyncInfo } from '@mig/core';
import type { HostMemoryHandle } from '../guest/host-memory.js';

export interface WorkerRamBlock {
  idstr: string;
  guestAddress: number;
  handle: HostMemoryHandle;
}

export interface OutgoingWorkerData {
  uri: string;
  machine: string;
  ram: WorkerRamBlock[];
  /** Migration parameters at the start (QEMU names); later changes arrive as `set-parameters`. */
  parameters: Record<string, unknown>;
  capabilities: Record<string, boolean>;
  /** Shared counters the worker updates and the main thread reads for query-migrate. */
  stats: SharedArrayBuffer;
  /**
   * The guest's dirty bitmaps, one per RAM block (same order as `ram`; DirtyBitmap words): the writers of
   * guest RAM (workload, x-mig-write) set bits here and the saver harvests them.
   */
  dirty?: SharedArrayBuffer[];
}

export interface IncomingWorkerData {
  uri: string;
  machine: string;
  ram: WorkerRamBlock[];
  stats: SharedArrayBuffer;
}

export type ToOutgoingWorker =
  | { type: 'set-parameters'; parameters: Record<string, unknown> }
  | { type: 'cancel' }
  | { type: 'guest-stopped'; runstate: string };

export type FromOutgoingWorker =
  | { type: 'status'; status: string }
  | { type: 'pass'; pass: number }
  | { type: 'throttle'; percent: number }
  | { type: 'sync'; info: SyncInfo }
  | { type: 'stop-guest' }
  | { type: 'resume-guest' }
  | { type: 'done'; status: 'completed' | 'failed' | 'cancelled'; error?: string };

export type FromIncomingWorker =
  | { type: 'listening'; address?: string }
  | { type: 'status'; status: string }
  | { type: 'done'; status: 'completed' | 'failed' | 'cancelled'; runstate?: string; error?: string };

export type ToIncomingWorker = { type: 'cancel' };
