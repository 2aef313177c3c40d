// One stream's analysis: the savevm StreamReader with section handlers that learn RAM blocks and drives
// from the stream, censuses of what each record says, and the --ram-out / --disk-out files.
import {
  GlobalStateLoadSection,
  StreamError,
  StreamReader,
  TimerLoadSection,
  type LoadSection,
} from '@mig/savevm';
import type { AnalysisResult } from './analysis-result.js';
import { BlockCensus } from './block-census.js';
import { DiskImageOut } from './disk-image-out.js';
import { LearningBlockSection } from './learning-block-section.js';
import { LearningRamSection } from './learning-ram-section.js';
import { peekMachine } from './machine-peek.js';
import { PositionalWriter } from './positional-writer.js';
import { RamCensus } from './ram-census.js';
import { RamImageOut } from './ram-image-out.js';
import { SectionCensus } from './section-census.js';

export interface AnalyzeOptions {
  /** Folder for the RAM blocks' files. */
  readonly ramOut?: string;
  /** Folder for the drives' files. */
  readonly diskOut?: string;
  /** Drive sizes the stream does not carry, by device name. */
  readonly diskSizes?: ReadonlyMap<string, number>;
}

export class StreamAnalysis {
  private reader: StreamReader | undefined;
  private prefix = new Uint8Array(0);
  private readonly writer: PositionalWriter | undefined;
  private readonly ramOut: RamImageOut | undefined;
  private readonly diskOut: DiskImageOut | undefined;
  readonly framing: SectionCensus;
  readonly ram: RamCensus;
  readonly block: BlockCensus;
  private readonly diskSizes: ReadonlyMap<string, number>;
  private readonly globalstate = new GlobalStateLoadSection();

  constructor(options: AnalyzeOptions = {}) {
    const offset = (): number => this.reader?.offset ?? 0;
    this.diskSizes = options.diskSizes ?? new Map();
    if (options.ramOut !== undefined || options.diskOut !== undefined) this.writer = new PositionalWriter();
    if (options.ramOut !== undefined) this.ramOut = new RamImageOut(options.ramOut, this.writer!);
    if (options.diskOut !== undefined) this.diskOut = new DiskImageOut(options.diskOut, this.writer!, this.diskSizes);
    this.framing = new SectionCensus(offset);
    this.ram = new RamCensus(offset, this.ramOut);
    this.block = new BlockCensus(this.diskOut);
  }

  /** Stream bytes taken so far. */
  get bytes(): number {
    return this.reader?.bytesReceived ?? this.prefix.length;
  }

  /** Parses `chunk`; throws the StreamError of a defect. The caller awaits drain() before the next push. */
  push(chunk: Uint8Array): void {
    if (this.reader !== undefined) {
      this.reader.push(chunk);
      return;
    }
    const joined = new Uint8Array(this.prefix.length + chunk.length);
    joined.set(this.prefix);
    joined.set(chunk, this.prefix.length);
    this.prefix = joined;
    const machine = peekMachine(joined);
    if (machine !== undefined) this.startReader(machine);
  }

  /** Writes what the last push staged for the output files. */
  async drain(): Promise<void> {
    await this.reader?.backpressure();
    await this.writer?.flush();
  }

  /** The input ended: throws the StreamError of a stream that stopped before its end. */
  end(): void {
    if (this.reader === undefined) this.startReader('');
    this.reader!.end();
  }

  /** Sets the drives' file lengths, writes what is staged and closes the files (also after a defect). */
  close(): void {
    try {
      this.diskOut?.finish();
    } finally {
      this.writer?.close();
    }
  }

  result(input: string, damage?: StreamError): AnalysisResult {
    const f = this.framing;
    return {
      input,
      bytes: this.bytes,
      complete: damage === undefined && (this.reader?.complete ?? false),
      ...(damage ? { damage: { offset: damage.offset, record: damage.record, message: damage.message } } : {}),
      ...(f.version !== undefined ? { version: f.version } : {}),
      ...(f.machine !== undefined ? { machine: f.machine } : {}),
      ...(this.globalstate.runstate !== undefined ? { runstate: this.globalstate.runstate } : {}),
      sections: f.sections,
      ...(this.ram.seen ? { ram: this.ram.summary() } : {}),
      ...(this.block.seen ? { block: this.block.summary() } : {}),
      eof: f.eof,
      ...(f.vmdesc ? { vmdesc: f.vmdesc } : {}),
      notes: this.notes(),
    };
  }

  private startReader(machine: string): void {
    const sections: LoadSection[] = [
      new LearningRamSection(this.ram),
      new LearningBlockSection(this.diskSizes, this.block),
      new TimerLoadSection(),
      this.globalstate,
    ];
    this.reader = new StreamReader({ machine, sections, observer: this.framing });
    const prefix = this.prefix;
    this.prefix = new Uint8Array(0);
    this.reader.push(prefix);
  }

  private notes(): string[] {
    const notes: string[] = [];
    for (const f of this.diskOut?.files ?? []) {
      if (!f.sizeGiven) {
        notes.push(`drive sizes are not in the stream: ${f.device}'s file ends at its highest chunk (${f.bytes} bytes, whole MiB); --disk-size ${f.device}=SIZE gives the drive's own size`);
      }
    }
    const named = new Set(this.block.devices.map((d) => d.name));
    for (const name of this.diskSizes.keys()) {
      if (!named.has(name)) notes.push(`--disk-size ${name}: the stream carries no chunk of drive '${name}'`);
    }
    return notes;
  }
}
