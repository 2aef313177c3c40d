import { LoadRegistry } from '../sections/registry.js';
import type { LoadContext, LoadSection, SectionRecordKind } from '../sections/section.js';
import { be32, hex, latin1, printable, utf8 } from './bytes.js';
import {
  MAX_MACHINE_NAME,
  MAX_VMDESC,
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_FILE_VERSION,
  QEMU_VM_FILE_VERSION_COMPAT,
  SectionType,
} from './constants.js';
import { StreamError } from './stream-error.js';

/** Callbacks for the framing records (tests, stream analysis); what sections carry goes to their handlers. */
export interface FramingObserver {
  onHeader?(version: number): void;
  onConfiguration?(machine: string): void;
  onSectionStart?(sectionId: number, idstr: string, instanceId: number, versionId: number): void;
  onSectionFull?(sectionId: number, idstr: string, instanceId: number, versionId: number): void;
  onSectionPart?(sectionId: number): void;
  onSectionEnd?(sectionId: number): void;
  onFooter?(sectionId: number): void;
  onEof?(): void;
  onVmdesc?(json: string): void;
}

export interface StreamReaderOptions {
  /** Local machine type; the stream's CONFIGURATION must name the same. */
  readonly machine: string;
  /** The target's section handlers. */
  readonly sections: readonly LoadSection[];
  readonly observer?: FramingObserver;
}

const enum State {
  Header,
  Configuration,
  Top,
  Body,
  Footer,
  AfterEof,
  Done,
  Failed,
}

/** A section seen in this stream, by the source's section id. */
interface StreamSection {
  readonly handler: LoadSection;
  readonly idstr: string;
  readonly versionId: number;
  /** Iterative: START seen and END not yet (PART/END allowed). */
  open: boolean;
}

/** Initial size of the tail buffer; it grows (up to the largest record, the 1 MiB vmdesc bound) on demand. */
const INITIAL_TAIL = 8192;

/**
 * Push parser of a QEMU 7.2 savevm stream: header, CONFIGURATION, section records with footers, EOF,
 * VMDESCRIPTION. Section bodies go to the registered handlers (LoadSection), found by idstr and instance id;
 * the framing knows nothing of what they carry. `push(chunk)` parses every whole record present and keeps at
 * most one partial record; any defect throws a StreamError naming the record's absolute offset.
 */
export class StreamReader implements LoadContext {
  private readonly machine: string;
  private readonly registry: LoadRegistry;
  private readonly observer: FramingObserver;

  private state = State.Header;
  /** Stream bytes in whole records already parsed: the offset of the record being parsed. */
  private consumed = 0;
  private tail = new Uint8Array(INITIAL_TAIL);
  private tailLen = 0;
  /** Name of the record being parsed (errors, `end()`); sections set it for their records. */
  record = 'header';
  /** The section whose body or footer is being read. */
  private current: StreamSection | undefined;
  private currentId = 0;
  private readonly streamSections = new Map<number, StreamSection>();
  /** The section id each handler was started under. */
  private readonly startedAs = new Map<LoadSection, number>();
  /** The handlers that got a section of this stream, once each, in stream order. */
  private readonly handlersSeen: LoadSection[] = [];
  private failure: StreamError | undefined;

  constructor(options: StreamReaderOptions) {
    this.machine = options.machine;
    this.registry = new LoadRegistry(options.sections);
    this.observer = options.observer ?? {};
  }

  /** Stream bytes received so far (whole records plus the partial tail). */
  get bytesReceived(): number {
    return this.consumed + this.tailLen;
  }

  /** Bytes of a partial record held until more input comes (at most one record). */
  get bufferedBytes(): number {
    return this.tailLen;
  }

  /** Absolute stream offset of the record being parsed (LoadContext). */
  get offset(): number {
    return this.consumed;
  }

  /** True once EOF (and optionally VMDESCRIPTION) has been read. */
  get complete(): boolean {
    return (this.state === State.AfterEof || this.state === State.Done) && this.tailLen === 0;
  }

  /** LoadContext: the current section's body is complete. */
  endBody(): void {
    this.state = State.Footer;
  }

  /** LoadContext: a StreamError at the record being parsed. */
  error(message: string, cause?: unknown): StreamError {
    return new StreamError(this.consumed, this.record, message, cause === undefined ? undefined : { cause });
  }

  /**
   * Undefined while every section may take more records; else a promise that resolves when they may (a
   * section deferring disk writes has room again) or rejects with the StreamError of a write that failed.
   * The caller awaits it between pushes, which bounds what the sections hold.
   */
  backpressure(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    let waits: Promise<void>[] | undefined;
    for (const s of this.handlersSeen) {
      const p = s.backpressure?.();
      if (p) (waits ??= []).push(p);
    }
    if (waits === undefined) return undefined;
    return Promise.all(waits).then(() => undefined, (e: unknown) => this.failAsync(e));
  }

  /** After end(): waits for every section's deferred work (disk writes) to be done; a failure is a StreamError. */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      for (const s of this.handlersSeen) await s.flush?.();
    } catch (e) {
      this.failAsync(e);
    }
  }

  /** A deferred failure of a section: the reader is failed from now on. */
  private failAsync(e: unknown): never {
    const err = e instanceof StreamError ? e : new StreamError(this.consumed, this.record, e instanceof Error ? e.message : String(e), { cause: e });
    this.failure ??= err;
    this.state = State.Failed;
    throw this.failure;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    try {
      this.pushInner(chunk);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Declares the end of the input; throws StreamError when the stream stopped before its end. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.complete) return;
    const n = this.consumed + this.tailLen;
    if (this.tailLen > 0) {
      this.fail(new StreamError(this.consumed, this.record, `stream ended after ${n} bytes inside ${this.record} record`));
    }
    const [record, what] = this.expected();
    this.fail(new StreamError(n, record, `stream ended after ${n} bytes, before ${what}`));
  }

  /** The record the parser waits for at a record boundary: its name and a description. */
  private expected(): [string, string] {
    const name = this.current?.idstr ?? '';
    switch (this.state) {
      case State.Header:
        return ['header', 'the file header'];
      case State.Configuration:
        return ['CONFIGURATION', 'the CONFIGURATION section'];
      case State.Body:
        return [name, `the next record of section ${this.currentId} '${name}' (its body has not ended)`];
      case State.Footer:
        return ['section footer', `the footer of section ${this.currentId} '${name}'`];
      default:
        return ['section', 'the EOF marker'];
    }
  }

  private fail(e: unknown): never {
    const err = e instanceof StreamError ? e : this.error(`handler failed: ${e instanceof Error ? e.message : String(e)}`, e);
    this.failure = err;
    this.state = State.Failed;
    throw err;
  }

  private pushInner(chunk: Uint8Array): void {
    const len = chunk.length;
    let pos = 0;
    // Finish the partial record first, taking from the chunk only what the record still needs.
    while (this.tailLen > 0) {
      const r = this.parse(this.tail, 0, this.tailLen);
      if (r >= 0) {
        this.consumed += r;
        this.tailLen = 0;
        break;
      }
      const want = -r - this.tailLen;
      if (want <= 0) throw new Error(`stream reader: ${this.record} parser asked for ${-r} bytes with ${this.tailLen} present`);
      const take = Math.min(want, len - pos);
      this.appendTail(chunk, pos, take);
      pos += take;
      if (take < want) return;
    }
    while (pos < len) {
      const r = this.parse(chunk, pos, len);
      if (r < 0) {
        this.appendTail(chunk, pos, len - pos);
        return;
      }
      this.consumed += r;
      pos += r;
    }
  }

  private appendTail(src: Uint8Array, pos: number, n: number): void {
    if (n === 0) return;
    const need = this.tailLen + n;
    if (need > this.tail.length) {
      const grown = new Uint8Array(Math.max(need, this.tail.length * 2));
      grown.set(this.tail.subarray(0, this.tailLen));
      this.tail = grown;
    }
    this.tail.set(src.subarray(pos, pos + n), this.tailLen);
    this.tailLen = need;
  }

  /**
   * Parses one record at b[p..end). Returns the bytes it used (≥ 1), or -(bytes the record needs at
   * least) when incomplete; in that case nothing was changed and no callback ran.
   */
  private parse(b: Uint8Array, p: number, end: number): number {
    switch (this.state) {
      case State.Body:
        return this.current!.handler.parse(b, p, end, this);
      case State.Top:
        return this.parseTop(b, p, end);
      case State.Footer:
        return this.parseFooter(b, p, end);
      case State.Header:
        return this.parseHeader(b, p, end);
      case State.Configuration:
        return this.parseConfiguration(b, p, end);
      case State.AfterEof:
        return this.parseAfterEof(b, p, end);
      default:
        this.record = 'end of stream';
        throw this.error(`data after the end of the stream (byte ${hex(b[p]!)})`);
    }
  }

  private parseHeader(b: Uint8Array, p: number, end: number): number {
    this.record = 'header';
    if (end - p < 4) return -4;
    const magic = be32(b, p);
    if (magic !== QEMU_VM_FILE_MAGIC) throw this.error(`bad magic ${hex(magic)} (expected ${hex(QEMU_VM_FILE_MAGIC)} 'QEVM')`);
    if (end - p < 8) return -8;
    const version = be32(b, p + 4);
    if (version === QEMU_VM_FILE_VERSION_COMPAT) throw this.error('SaveVM v2 format is obsolete and not supported');
    if (version !== QEMU_VM_FILE_VERSION) throw this.error(`unsupported migration stream version ${version} (expected ${QEMU_VM_FILE_VERSION})`);
    this.state = State.Configuration;
    this.observer.onHeader?.(version);
    return 8;
  }

  private parseConfiguration(b: Uint8Array, p: number, end: number): number {
    this.record = 'CONFIGURATION';
    if (b[p] !== SectionType.CONFIGURATION) throw this.error(`CONFIGURATION section missing (found byte ${hex(b[p]!)})`);
    if (end - p < 5) return -5;
    const len = be32(b, p + 1);
    if (len > MAX_MACHINE_NAME) throw this.error(`machine name length ${len} exceeds ${MAX_MACHINE_NAME}`);
    if (end - p < 5 + len) return -(5 + len);
    const name = latin1(b, p + 5, p + 5 + len);
    if (name !== this.machine) throw this.error(`machine type received is '${printable(b, p + 5, p + 5 + len)}' and local is '${this.machine}'`);
    this.state = State.Top;
    this.observer.onConfiguration?.(name);
    return 5 + len;
  }

  private parseTop(b: Uint8Array, p: number, end: number): number {
    const type = b[p]!;
    switch (type) {
      case SectionType.START:
      case SectionType.FULL:
        return this.parseSectionStart(b, p, end, type);
      case SectionType.PART:
      case SectionType.END:
        return this.parseSectionPart(b, p, end, type);
      case SectionType.EOF:
        this.record = 'EOF';
        this.finishSections();
        this.state = State.AfterEof;
        this.observer.onEof?.();
        return 1;
      default:
        this.record = 'section';
        throw this.error(`unknown or unsupported section type ${hex(type)}${type === SectionType.COMMAND ? ' (QEMU_VM_COMMAND)' : ''}`);
    }
  }

  /** SECTION_START / SECTION_FULL: be32 section id, counted idstr, be32 instance id, be32 version id. */
  private parseSectionStart(b: Uint8Array, p: number, end: number, type: number): number {
    const full = type === SectionType.FULL;
    this.record = full ? 'SECTION_FULL' : 'SECTION_START';
    if (end - p < 6) return -6;
    const idLen = b[p + 5]!;
    const n = 6 + idLen + 8;
    if (end - p < n) return -n;
    const sectionId = be32(b, p + 1);
    const idstr = latin1(b, p + 6, p + 6 + idLen);
    const instanceId = be32(b, p + 6 + idLen);
    const versionId = be32(b, p + 10 + idLen);
    const handler = this.registry.find(idstr, instanceId);
    if (!handler) {
      const named = printable(b, p + 6, p + 6 + idLen);
      throw this.error(`Unknown savevm section or instance '${named}' ${instanceId}: this target has no handler for it (it loads: ${this.registry.names.join(', ')})`);
    }
    const min = handler.minVersion ?? handler.version;
    if (versionId > handler.version || versionId < min) {
      const range = min === handler.version ? `v${min}` : `v${min}..v${handler.version}`;
      throw this.error(`unsupported version ${versionId} for '${idstr}' (this target loads ${range})`);
    }
    if (!full && !handler.iterative) throw this.error(`section '${idstr}' must be sent as SECTION_FULL`);
    if (full && handler.iterative) throw this.error(`section '${idstr}' is iterative: SECTION_START/PART/END, not SECTION_FULL`);
    if (this.streamSections.has(sectionId)) throw this.error(`section id ${sectionId} ('${idstr}') is started a second time`);
    // one section id per handler: what the reader keeps stays bounded by the handlers, not the stream's length
    const earlier = this.startedAs.get(handler);
    if (earlier !== undefined) throw this.error(`section '${idstr}' is started a second time, as section id ${sectionId} (it began as section id ${earlier})`);
    this.startedAs.set(handler, sectionId);
    const section: StreamSection = { handler, idstr, versionId, open: !full };
    this.streamSections.set(sectionId, section);
    this.handlersSeen.push(handler);
    if (full) this.observer.onSectionFull?.(sectionId, idstr, instanceId, versionId);
    else this.observer.onSectionStart?.(sectionId, idstr, instanceId, versionId);
    this.beginBody(sectionId, section, full ? 'full' : 'start');
    return n;
  }

  /** SECTION_PART / SECTION_END: be32 section id of a section started before. */
  private parseSectionPart(b: Uint8Array, p: number, end: number, type: number): number {
    const last = type === SectionType.END;
    this.record = last ? 'SECTION_END' : 'SECTION_PART';
    if (end - p < 5) return -5;
    const sectionId = be32(b, p + 1);
    const section = this.streamSections.get(sectionId);
    if (section === undefined) throw this.error(`unknown savevm section id ${sectionId} (no SECTION_START for it)`);
    if (!section.handler.iterative) throw this.error(`section id ${sectionId} ('${section.idstr}') is not an iterative section`);
    if (!section.open) throw this.error(`section id ${sectionId} ('${section.idstr}') has already ended`);
    if (last) section.open = false;
    if (last) this.observer.onSectionEnd?.(sectionId);
    else this.observer.onSectionPart?.(sectionId);
    this.beginBody(sectionId, section, last ? 'end' : 'part');
    return 5;
  }

  private beginBody(sectionId: number, section: StreamSection, kind: SectionRecordKind): void {
    this.current = section;
    this.currentId = sectionId;
    this.state = State.Body;
    section.handler.begin(kind, section.versionId, this); // may end an empty body at once
  }

  private parseFooter(b: Uint8Array, p: number, end: number): number {
    this.record = 'section footer';
    const name = this.current?.idstr ?? '';
    if (b[p] !== SectionType.FOOTER) {
      throw this.error(`missing section footer for '${name}' (expected 0x7e, found ${hex(b[p]!)})`);
    }
    if (end - p < 5) return -5;
    const id = be32(b, p + 1);
    if (id !== this.currentId) {
      throw this.error(`mismatched section id in footer for '${name}': read ${id}, expected ${this.currentId}`);
    }
    this.state = State.Top;
    this.observer.onFooter?.(id);
    return 5;
  }

  /** At EOF: every iterative section has ended, and each section's own end check passes. */
  private finishSections(): void {
    for (const [id, s] of this.streamSections) {
      if (s.open) throw this.error(`EOF before SECTION_END of section ${id} '${s.idstr}'`);
    }
    for (const s of this.handlersSeen) s.finish?.(this);
  }

  private parseAfterEof(b: Uint8Array, p: number, end: number): number {
    if (b[p] !== SectionType.VMDESCRIPTION) {
      this.record = 'end of stream';
      throw this.error(`data after the end of the stream (byte ${hex(b[p]!)} after EOF)`);
    }
    this.record = 'VMDESCRIPTION';
    if (end - p < 5) return -5;
    const len = be32(b, p + 1);
    if (len > MAX_VMDESC) throw this.error(`vmdesc length ${len} exceeds ${MAX_VMDESC}`);
    if (end - p < 5 + len) return -(5 + len);
    const json = utf8(b, p + 5, p + 5 + len);
    this.state = State.Done;
    this.observer.onVmdesc?.(json);
    return 5 + len;
  }
}
