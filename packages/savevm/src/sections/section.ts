// The seam between the savevm framing and what travels in it: QEMU's SaveVMHandlers, one interface per side.
// The framing writes and reads headers and footers and knows sections only through these interfaces;
// what a page or a disk chunk is stays inside the section's own package.
import type { StreamError } from '../wire/stream-error.js';
import type { SectionIdentity } from '../wire/frame-writer.js';
import type { StreamWriter } from '../wire/stream-writer.js';
import type { VmdescDevice } from './vmdesc.js';

/** The save side of an iterative section (QEMU's save_setup / save_live_pending / save_live_iterate / complete). */
export interface IterativeSaveSection extends SectionIdentity {
  readonly iterative: true;
  /** Whether it takes part in this migration (QEMU's is_active); inactive sections write nothing. Default: yes. */
  isActive?(): boolean;
  /** The body of its SECTION_START. */
  setup(out: StreamWriter): void;
  /** Moves what the guest changed since the last call into what is still to send (one pass). */
  syncDirty(): void;
  /**
   * Bytes still to send. `threshold` is the switchover threshold (bandwidth × downtime-limit): a section that
   * must not let the migration complete yet (block in its bulk phase) reports more than it.
   */
  pending(threshold: number): number;
  /**
   * The body of one SECTION_PART: records up to about `budget` bytes. Returns true when nothing more is due
   * now (the walk goes on to the next section), false when it stopped at the budget (the walk stops here,
   * as qemu_savevm_state_iterate does).
   */
  iterate(out: StreamWriter, budget: number): boolean;
  /** The body of its SECTION_END, with the guest stopped: everything still due. */
  complete(out: StreamWriter): void;
  /**
   * A section whose records wait for its own I/O (disk reads): undefined when it can write now, else a
   * promise that resolves when it can (or rejects with why it cannot). The walk stops at a section that is
   * not ready, as qemu_savevm_state_iterate stops at one that did not finish its stage. Starting that I/O
   * is the section's business (here or in iterate).
   */
  whenReady?(): Promise<void> | undefined;
  /** Its VMDESCRIPTION entry, if it has a vmstate description (ram and block have none). */
  vmdesc?(): VmdescDevice | undefined;
  /**
   * A section whose data a transport carries itself (ram over rdma: pages by RDMA WRITE, no record): the
   * bytes handed to that control path so far, counted against the iterate budget when taken (QEMU's
   * ram_control_save_page adds them to the rate limit).
   */
  readonly controlBytesTaken?: number;
  /** Of those, the bytes the transport has sent so far, counted when sent (transferred, bandwidth). */
  readonly controlBytesSent?: number;
}

/** What a non-iterative section may need when it is saved at switchover. */
export interface SaveContext {
  /** The guest's run state before the switchover stopped it (globalstate carries it). */
  readonly runstate: string;
}

/** The save side of a non-iterative section, written once as SECTION_FULL at switchover (vmstate devices). */
export interface DeviceSaveSection extends SectionIdentity {
  readonly iterative: false;
  isActive?(): boolean;
  save(out: StreamWriter, context: SaveContext): void;
  vmdesc?(): VmdescDevice | undefined;
}

export type SaveSection = IterativeSaveSection | DeviceSaveSection;

/** The kind of section record whose body a LoadSection is handed. */
export type SectionRecordKind = 'start' | 'part' | 'end' | 'full';

/**
 * What the stream reader offers a section while it parses the section's body. Stream offsets are absolute;
 * errors made here carry them.
 */
export interface LoadContext {
  /** Absolute stream offset of the record being parsed. */
  readonly offset: number;
  /** The name of the record being parsed (e.g. 'ram PAGE'): errors and end-of-input messages use it. */
  record: string;
  /** The body of the current section record is complete: its footer comes next. */
  endBody(): void;
  /** A StreamError at the record being parsed. */
  error(message: string, cause?: unknown): StreamError;
}

/** The load side of a section (QEMU's load_state), registered by idstr and instance id. */
export interface LoadSection {
  readonly idstr: string;
  readonly instanceId: number;
  /** The newest version it loads (QEMU's version_id). */
  readonly version: number;
  /** The oldest version it loads (QEMU's minimum_version_id); default `version`. */
  readonly minVersion?: number;
  /** Iterative sections take START/PART/END records; the others only FULL. */
  readonly iterative: boolean;
  /**
   * A record of this section begins, its header already checked. A body that is empty calls
   * `context.endBody()` here.
   */
  begin(kind: SectionRecordKind, versionId: number, context: LoadContext): void;
  /**
   * Parses one record of the body at `b[p..end)` (at least one byte is there). Returns the bytes it used
   * (≥ 1), or -(bytes the record needs at least) when they are not all there yet — then it changed nothing.
   * Calls `context.endBody()` after the record that ends the body (EOS, or the last field).
   * Buffers are only valid during the call.
   */
  parse(b: Uint8Array, p: number, end: number, context: LoadContext): number;
  /** At EOF: throws (context.error) when the stream left this section incomplete. */
  finish?(context: LoadContext): void;
  /**
   * A section that defers work (disk writes): undefined while it may take more records, else a promise that
   * resolves when it may again (its bounded buffers have room) or rejects with why it failed.
   */
  backpressure?(): Promise<void> | undefined;
  /** After the stream's end: resolves once every deferred write is done and durable, or rejects. */
  flush?(): Promise<void>;
}
