/** Where the migration stream goes (a socket, a file, a test buffer). */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>; // resolves at once below the high-water mark, else on drain; rejects if the peer is gone
  end(): Promise<void>;
  destroy(err?: Error): void;
  /** Bytes that have left the process (written to the OS), when the sink can tell: lets the saver reuse chunks. */
  readonly bytesFlushed?: number;
}

/** What produces the migration stream (@mig/ram's SavevmSaver; a registry of sections). */
export interface MigrationSaver {
  setup(): void;                       // header, CONFIGURATION, SECTION_START of each iterative section
  syncDirty(): void;                   // harvest dirty bits into the set still to send (one "pass")
  /**
   * Bytes still to send at this moment. `thresholdBytes` is the switchover threshold now (QEMU's max_size /
   * threshold_size: bandwidth × downtime-limit; 0 before it is first measured), as QEMU hands it to each
   * section's pending: a section may report more than it (e.g. threshold + 1 MiB during a bulk phase) so the
   * migration cannot switch over yet.
   */
  pendingBytes(thresholdBytes: number): number;
  iterate(maxBytes: number): number;   // emit pages (SECTION_PART … EOS) up to ~maxBytes; returns bytes emitted
  complete(runstate: string): void;    // guest stopped: the rest, SECTION_END, timer, globalstate, EOF, vmdesc
  drainOutput(): Uint8Array[];         // chunks produced since the last call; not written again before recycleOutput says so
  /** Optional: the stream's first `flushedBytes` bytes have left the process, so their chunks may be reused. */
  recycleOutput?(flushedBytes: number): void;
  /**
   * Optional: when iterate() wrote nothing although bytes are pending (a section waits for its own I/O, e.g.
   * disk reads in flight), a promise that resolves once it can write again, or rejects with why it cannot;
   * undefined when it can write now.
   */
  whenReady?(): Promise<void> | undefined;
  /**
   * Optional, for a transport that carries RAM itself (rdma): bytes the saver handed to it beside the stream
   * so far (a page each as taken). They count against the rate limit when taken, as QEMU 7.2 counts them.
   */
  readonly controlBytesTaken?: number;
  /** Optional: of those, the bytes the transport has sent so far; they count in transferred and the bandwidth. */
  readonly controlBytesSent?: number;
}

/** One dirty sync's figures, for progress and convergence reports. */
export interface SyncInfo {
  /** The pass number (1 = the bulk pass at setup). */
  pass: number;
  /** Clock time of the sync (ms, the `now` clock). */
  time: number;
  /** Bytes pending right after the sync. */
  remaining: number;
  /** Pages this sync added to the pending set (0 for the first). */
  dirtiedPages: number;
  /** Bytes sent so far: the stream handed to the sink and what the transport sent beside it (controlBytesSent). */
  transferred: number;
  /** The bandwidth measured at the last slot end, bytes/s (0 before the first). */
  bandwidth: number;
  /** The switchover threshold at the last slot end: bandwidth × downtime-limit, bytes. */
  maxSize: number;
  /** Dirty pages per second (stats.dirtyPagesRate). */
  dirtyPagesRate: number;
  /** The throttle applied now, percent. */
  throttle: number;
}
