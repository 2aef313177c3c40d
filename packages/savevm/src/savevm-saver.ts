import type { MigrationSaver } from '@mig/core';
import { checkSaveSections } from './sections/registry.js';
import type { DeviceSaveSection, IterativeSaveSection, SaveSection } from './sections/section.js';
import { vmdescJson, type VmdescDevice } from './sections/vmdesc.js';
import { RUN_STATES, SectionType } from './wire/constants.js';
import {
  writeConfiguration,
  writeEof,
  writeFileHeader,
  writeSectionFooter,
  writeSectionHeader,
  writeSectionShortHeader,
  writeVmdesc,
} from './wire/frame-writer.js';
import { StreamWriter } from './wire/stream-writer.js';

export interface SavevmSaverOptions {
  /** Machine type written in CONFIGURATION (the target checks it), e.g. `none`. */
  readonly machine: string;
  /** The source's sections in QEMU's registration order (e.g. timer, block, ram, globalstate). */
  readonly sections: readonly SaveSection[];
  /** The target page size written in the vmdesc; 4096 (x86) by default. */
  readonly pageSize?: number;
  /** Output chunk size; 1 MiB by default. */
  readonly chunkSize?: number;
}

type Phase = 'new' | 'active' | 'completed';

/**
 * The source side of a savevm stream (QEMU's qemu_savevm_state_setup / _iterate / _complete_precopy) over
 * registered sections. Iterative sections get SECTION_START at setup, SECTION_PART while the guest runs and
 * SECTION_END at switchover; the others one SECTION_FULL at switchover; then EOF and the vmdesc. Pure: it
 * writes into output chunks that the caller takes with `drainOutput()`.
 */
export class SavevmSaver implements MigrationSaver {
  private readonly machine: string;
  private readonly pageSize: number;
  private readonly writer: StreamWriter;
  private readonly sections: readonly SaveSection[];
  /** The active iterative sections, in stream order (fixed at setup). */
  private iterative: IterativeSaveSection[];
  /** When the last iterate() wrote nothing: what the first section waiting for its own I/O waits for. */
  private waitingFor: Promise<void> | undefined;
  private phase: Phase = 'new';

  constructor(options: SavevmSaverOptions) {
    this.machine = options.machine;
    this.pageSize = options.pageSize ?? 4096;
    this.sections = checkSaveSections(options.sections);
    this.writer = new StreamWriter(options.chunkSize);
    this.iterative = this.activeIterative();
  }

  private activeIterative(): IterativeSaveSection[] {
    return this.sections.filter((s): s is IterativeSaveSection => s.iterative && (s.isActive?.() ?? true));
  }

  /** Every stream byte produced so far, framing included. */
  get streamBytes(): number {
    return this.writer.bytesWritten;
  }

  /** Header, CONFIGURATION, then each active iterative section's SECTION_START. */
  setup(): void {
    if (this.phase !== 'new') throw new Error('SavevmSaver.setup() called twice');
    const w = this.writer;
    writeFileHeader(w);
    writeConfiguration(w, this.machine);
    this.iterative = this.activeIterative();
    for (const s of this.iterative) {
      writeSectionHeader(w, SectionType.START, s);
      s.setup(w);
      writeSectionFooter(w, s.sectionId);
    }
    this.phase = 'active';
  }

  /** Bytes the sections handed to a transport's control path (see IterativeSaveSection.controlBytesTaken). */
  get controlBytesTaken(): number {
    let n = 0;
    for (const s of this.iterative) n += s.controlBytesTaken ?? 0;
    return n;
  }

  /** Bytes the transport has sent of those (see IterativeSaveSection.controlBytesSent). */
  get controlBytesSent(): number {
    let n = 0;
    for (const s of this.iterative) n += s.controlBytesSent ?? 0;
    return n;
  }

  /** One pass: every iterative section takes in what the guest changed. */
  syncDirty(): void {
    this.requireActive('syncDirty');
    for (const s of this.iterative) s.syncDirty();
  }

  /** The sum of the iterative sections' pending bytes (QEMU's qemu_savevm_state_pending). */
  pendingBytes(threshold = 0): number {
    let n = 0;
    for (const s of this.iterative) n += s.pending(threshold);
    return n;
  }

  /**
   * One iteration within `maxBytes` (QEMU's qemu_savevm_state_iterate): the sections in order, each with
   * something pending gets a SECTION_PART with what is left of the budget; a section that stops at the
   * budget ends the walk, so a section is finished before the next gets bandwidth. A section waiting for its
   * own I/O (disk reads in flight) is passed over this time, so the link carries the next one meanwhile; when
   * nothing could be written at all, whenReady() tells when to come back. Returns the bytes written.
   */
  iterate(maxBytes: number): number {
    this.requireActive('iterate');
    const w = this.writer;
    const start = w.bytesWritten;
    const takenStart = this.controlBytesTaken;
    let waiting: Promise<void> | undefined;
    for (const s of this.iterative) {
      // pages a control path took use the budget as stream bytes do
      const used = w.bytesWritten - start + this.controlBytesTaken - takenStart;
      if (used > 0 && used >= maxBytes) break;
      if (s.pending(0) === 0) continue;
      const notReady = s.whenReady?.();
      if (notReady !== undefined) {
        waiting ??= notReady;
        continue;
      }
      writeSectionShortHeader(w, SectionType.PART, s.sectionId);
      const done = s.iterate(w, Math.max(1, maxBytes - used));
      writeSectionFooter(w, s.sectionId);
      if (!done) break;
    }
    this.waitingFor = w.bytesWritten === start ? waiting : undefined;
    return w.bytesWritten - start;
  }

  /**
   * The switchover, guest stopped (QEMU's qemu_savevm_state_complete_precopy): SECTION_END of each iterative
   * section with all it still holds, SECTION_FULL of the others, EOF, VMDESCRIPTION.
   */
  complete(runstate: string): void {
    this.requireActive('complete');
    if (!RUN_STATES.has(runstate)) throw new RangeError(`unknown runstate '${runstate}'`);
    const w = this.writer;
    for (const s of this.iterative) s.syncDirty();
    for (const s of this.iterative) {
      writeSectionShortHeader(w, SectionType.END, s.sectionId);
      s.complete(w);
      writeSectionFooter(w, s.sectionId);
    }
    const devices: VmdescDevice[] = [];
    for (const s of this.sections) {
      if (s.iterative || !(s.isActive?.() ?? true)) continue;
      this.saveDevice(s, runstate);
      const d = s.vmdesc?.();
      if (d) devices.push(d);
    }
    writeEof(w);
    writeVmdesc(w, vmdescJson(this.pageSize, devices));
    this.phase = 'completed';
  }

  /** When the last iterate() stopped at a section waiting for its I/O: resolves once it can write. */
  whenReady(): Promise<void> | undefined {
    return this.waitingFor;
  }

  drainOutput(): Uint8Array[] {
    return this.writer.drain();
  }

  /** The first `flushedBytes` stream bytes have left the process: their chunks may be reused. */
  recycleOutput(flushedBytes: number): void {
    this.writer.recycle(flushedBytes);
  }

  private saveDevice(s: DeviceSaveSection, runstate: string): void {
    writeSectionHeader(this.writer, SectionType.FULL, s);
    s.save(this.writer, { runstate });
    writeSectionFooter(this.writer, s.sectionId);
  }

  private requireActive(what: string): void {
    if (this.phase === 'new') throw new Error(`SavevmSaver.${what}() before setup()`);
    if (this.phase === 'completed') throw new Error(`SavevmSaver.${what}() after complete()`);
  }
}
