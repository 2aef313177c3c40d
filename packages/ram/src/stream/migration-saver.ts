// The MigrationSaver and ByteSink contracts of docs/ARCHITECTURE.md, declared here until @mig/core exports
// them (the integrator may replace these with re-exports from @mig/core; the shapes are identical).

export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>; // resolves at once below the high-water mark, else on drain; rejects if the peer is gone
  end(): Promise<void>;
  destroy(err?: Error): void;
}

export interface MigrationSaver {
  setup(): void; // header, CONFIGURATION, SECTION_START of each iterative section
  syncDirty(): void; // harvest dirty bits into the set still to send (one "pass")
  pendingBytes(): number; // bytes still to send at this moment
  iterate(maxBytes: number): number; // emit pages (SECTION_PART … EOS) up to ~maxBytes; returns bytes emitted
  complete(runstate: string): void; // guest stopped: the rest, SECTION_END, timer, globalstate, EOF, vmdesc
  drainOutput(): Uint8Array[]; // chunks produced since the last call; the saver never reuses them
}
