// Messages between the daemon's main thread (QMP, run state) and a migration worker thread (the stream).
// Each side keeps a MigrationStateMachine of the same direction: the worker reports its transitions as
// {from, to} and the main thread applies them by compare-and-set (see worker-status.ts). Errors travel
// encoded (@mig/core's WireError) and come back as their classes (errors.ts).
import type { MessagePort } from 'node:worker_threads';
import type { MigrationStatus, SyncInfo, WireError } from '@mig/core';
import type { WorkerDriveInfo } from '../block/drive-protocol.js';
import type { HostMemoryHandle } from '../guest/host-memory.js';
import type { PreparedUri } from './transport-uri.js';

export interface WorkerRamBlock {
  idstr: string;
  guestAddress: number;
  handle: HostMemoryHandle;
}

export interface OutgoingWorkerData {
  /** The URI as given, for messages. */
  uri: string;
  /** The URI parsed, with the fd: descriptor taken on the main thread: what the worker opens. */
  transport: PreparedUri;
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
  /** Block migration (capability block): the writable drives, reached through `drivePort` (a DriveHost). */
  block?: OutgoingBlockData;
}

export interface OutgoingBlockData {
  drives: WorkerDriveInfo[];
  drivePort: MessagePort;
  /** Parameter block-incremental: only what the top images allocate. */
  incremental: boolean;
  /** Capability zero-blocks. */
  zeroBlocks: boolean;
}

export interface IncomingWorkerData {
  /** The URI as given, for messages. */
  uri: string;
  /** The URI parsed, with the fd: descriptor taken on the main thread: what the worker opens. */
  transport: PreparedUri;
  machine: string;
  ram: WorkerRamBlock[];
  stats: SharedArrayBuffer;
  /** x-stall-timeout when migrate-incoming started (ms; 0 = never): how long the source may send nothing. */
  stallTimeoutMs: number;
  /** The drives a `block` section may write (all of them: a read-only one is refused by name), and their host. */
  block?: { drives: WorkerDriveInfo[]; drivePort: MessagePort };
}

export type ToOutgoingWorker =
  | { type: 'set-parameters'; parameters: Record<string, unknown> }
  | { type: 'cancel' }
  | { type: 'guest-stopped'; runstate: string };

/** A transition of the worker's machine that has not ended the migration. */
export interface StatusMessage {
  type: 'status';
  from: MigrationStatus;
  to: MigrationStatus;
}

/**
 * The worker is done: its machine's last transition (to completed, failed or cancelled) travels with the
 * outcome, so the main thread never shows 'failed' without its error.
 */
export interface DoneMessage {
  type: 'done';
  from: MigrationStatus;
  to: MigrationStatus;
  /** Why it failed (or what ended a cancelled one), as thrown in the worker. */
  error?: WireError;
}

export type FromOutgoingWorker =
  | StatusMessage
  | { type: 'pass'; pass: number }
  | { type: 'throttle'; percent: number }
  | { type: 'sync'; info: SyncInfo }
  | { type: 'stop-guest' }
  | { type: 'resume-guest' }
  | DoneMessage;

export type FromIncomingWorker =
  | { type: 'listening'; address?: string }
  /** A connection whose TLS handshake failed (the listener goes on). */
  | { type: 'tls-refused'; message: string }
  | StatusMessage
  | (DoneMessage & { /** The source's run state from globalstate, when the load completed. */ runstate?: string });

export type ToIncomingWorker = { type: 'cancel' };
