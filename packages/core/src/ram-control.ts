// The RAM control seam (QEMU's QEMUFileHooks for RAM): a transport that carries guest RAM itself (RDMA)
// hooks into the `ram` section at these points. Types only, here so that @mig/ram (which calls them) and
// @mig/transports (which implements them) share one declaration without depending on each other.

/** Where a hook runs: QEMU's RAM_CONTROL_SETUP (ram_save_setup), ROUND (each iterate), FINISH (complete). */
export type RamControlPhase = 'setup' | 'round' | 'finish';

/** What a save hook may write into the migration stream (@mig/savevm's StreamWriter has it). */
export interface RamControlOutput {
  be64(value: number): void;
  /** Stream bytes written so far, from the stream's first byte. */
  readonly bytesWritten: number;
}

/**
 * The source side (ram_control_before_iterate / after_iterate / save_page). Each body of the `ram`
 * section runs beforeIterate, the pages, afterIterate, then EOS. Every call is synchronous: a hook that
 * does I/O queues it and tells when it can take more through `whenReady`.
 */
export interface RamSaveControl {
  beforeIterate(out: RamControlOutput, phase: RamControlPhase): void;
  afterIterate(out: RamControlOutput, phase: RamControlPhase): void;
  /**
   * One page (4096 bytes at `offset` of block `blockIndex`, in the section's block order). True: the page
   * went by the control path and the section writes no record for it (QEMU's RAM_SAVE_CONTROL_DELAYED);
   * false: the section sends it as usual (RAM_SAVE_CONTROL_NOT_SUPP). The per-page hot path: no allocation.
   */
  savePage(blockIndex: number, offset: number): boolean;
  /** Undefined when the hook can take pages now, else a promise that resolves (or rejects) when it can. */
  whenReady?(): Promise<void> | undefined;
  /** What the hook has sent of the pages it took, counted as it goes out (absent: it counts nothing). */
  readonly sent?: RamControlSent;
}

/**
 * Bytes of taken pages the control path has sent so far, as QEMU 7.2's RDMA path credits them when a write is
 * posted (acct_update_position): written bytes count as normal pages, in transferred and in the bandwidth;
 * zero bytes sent as a mark (RDMA COMPRESS) count as duplicate pages only.
 */
export interface RamControlSent {
  readonly writtenBytes: number;
  readonly zeroBytes: number;
}

/** The destination side (ram_control_load_hook). */
export interface RamLoadControl {
  /** RAM_CONTROL_HOOK: the stream's RAM_SAVE_FLAG_HOOK record was read here. */
  onHook(): void;
  /** RAM_CONTROL_BLOCK_REG: a block named in MEM_SIZE, in the stream's order, once the record is whole. */
  onBlockRegistered(idstr: string): void;
}
