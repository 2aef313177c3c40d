import { PAGE_SIZE } from '../memory/constants.js';
import {
  GLOBALSTATE_BODY_SIZE,
  GLOBALSTATE_RUNSTATE_SIZE,
  GLOBALSTATE_SECTION,
  MAX_MACHINE_NAME,
  MAX_VMDESC,
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_FILE_VERSION,
  QEMU_VM_FILE_VERSION_COMPAT,
  RAM_FLAGS_MASK,
  RAM_KNOWN_FLAGS,
  RAM_SECTION,
  RUN_STATES,
  RamFlag,
  SectionType,
  TIMER_BODY_SIZE,
  TIMER_SECTION,
  XBZRLE_ENCODING_FLAG,
} from './constants.js';
import { StreamError } from './stream-error.js';
import type { RamBlockSize } from './stream-writer.js';

/**
 * Callbacks of the push parser, one per record. Buffers passed to callbacks are only valid during the
 * call (they may be the caller's chunk or the reader's internal tail buffer).
 */
export interface StreamVisitor {
  onHeader?(version: number): void;
  onConfiguration?(machine: string): void;
  onSectionStart?(sectionId: number, idstr: string, instanceId: number, versionId: number): void;
  onSectionFull?(sectionId: number, idstr: string, instanceId: number, versionId: number): void;
  onSectionPart?(sectionId: number): void;
  onSectionEnd?(sectionId: number): void;
  onFooter?(sectionId: number): void;
  /** MEM_SIZE, after it was checked against the target: the target's blocks in the stream's order. */
  onRamMemSize?(blocks: readonly RamBlockSize[]): void;
  /** A PAGE record: 4096 bytes at `buf[bufOffset..]` belong at `offset` of target block `blockIndex`. */
  onRamPage?(blockIndex: number, offset: number, buf: Uint8Array, bufOffset: number): void;
  onRamZero?(blockIndex: number, offset: number, fill: number): void;
  /** An XBZRLE record: `len` encoded bytes at `buf[bufOffset..]` (flag byte and length already checked). */
  onRamXbzrle?(blockIndex: number, offset: number, buf: Uint8Array, bufOffset: number, len: number): void;
  onRamEos?(): void;
  onTimer?(cpuTicksOffset: bigint, cpuClockOffset: bigint): void;
  onGlobalState?(runstate: string): void;
  onEof?(): void;
  onVmdesc?(json: string): void;
}

export interface StreamReaderOptions {
  /** Local machine type; the stream's CONFIGURATION must name the same. */
  readonly machine: string;
  /** The target's RAM blocks in order; blockIndex in callbacks indexes this list. */
  readonly ramBlocks: readonly RamBlockSize[];
  readonly visitor: StreamVisitor;
}

const enum State {
  Header,
  Configuration,
  Top,
  Ram,
  Timer,
  GlobalState,
  Footer,
  AfterEof,
  Done,
  Failed,
}

const enum Kind {
  Ram = 1,
  Timer = 2,
  GlobalState = 3,
}

const KNOWN_SECTIONS: ReadonlyArray<{ idstr: string; instanceId: number; version: number; kind: Kind }> = [
  { ...RAM_SECTION, kind: Kind.Ram },
  { ...TIMER_SECTION, kind: Kind.Timer },
  { ...GLOBALSTATE_SECTION, kind: Kind.GlobalState },
];

const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [RamFlag.FULL, 'FULL (obsolete)'],
  [RamFlag.HOOK, 'HOOK (RDMA)'],
  [RamFlag.COMPRESS_PAGE, 'COMPRESS_PAGE'],
];

const hex = (v: number): string => '0x' + v.toString(16);
const latin1 = (b: Uint8Array, start: number, end: number): string => Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
const utf8 = (b: Uint8Array, start: number, end: number): string => Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');

function be32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function be64big(b: Uint8Array, p: number): bigint {
  return BigInt.asIntN(64, (BigInt(be32(b, p)) << 32n) | BigInt(be32(b, p + 4)));
}

/** Initial size of the tail buffer; it grows (up to the largest record, the 1 MiB vmdesc bound) on demand. */
const INITIAL_TAIL = 8192;

/**
 * Push parser of a QEMU 7.2 migration stream for `-machine none` (ram, timer, globalstate).
 * `push(chunk)` parses every whole record present and keeps at most one partial record; callbacks
 * fire once per whole record. Any defect throws a StreamError naming the record's absolute offset.
 */
export class StreamReader {
  private readonly machine: string;
  private readonly blocks: readonly RamBlockSize[];
  private readonly blockIds: readonly Uint8Array[];
  private readonly ramTotal: number;
  private readonly v: StreamVisitor;

  private state = State.Header;
  /** Stream bytes in whole records already parsed: the offset of the record being parsed. */
  private consumed = 0;
  private tail = new Uint8Array(INITIAL_TAIL);
  private tailLen = 0;
  /** Name of the record currently being parsed (for errors and `end()`). */
  private record = 'header';
  /** Section id whose footer is expected (state Footer) and the section being read. */
  private sectionId = 0;
  private sectionName = '';
  /** Section id → kind, registered by START/FULL. */
  private readonly sections = new Map<number, Kind>();
  private lastBlock = -1;
  private error: StreamError | undefined;

  constructor(options: StreamReaderOptions) {
    this.machine = options.machine;
    this.blocks = options.ramBlocks;
    this.blockIds = options.ramBlocks.map((b) => Buffer.from(b.idstr, 'utf8'));
    this.ramTotal = options.ramBlocks.reduce((s, b) => s + b.usedLength, 0);
    this.v = options.visitor;
  }

  /** Stream bytes received so far (whole records plus the partial tail). */
  get bytesReceived(): number {
    return this.consumed + this.tailLen;
  }

  /** Bytes of a partial record held until more input comes (at most one record). */
  get bufferedBytes(): number {
    return this.tailLen;
  }

  /** Absolute stream offset of the record being parsed (valid inside a callback). */
  get recordOffset(): number {
    return this.consumed;
  }

  /** True once EOF (and optionally VMDESCRIPTION) has been read. */
  get complete(): boolean {
    return (this.state === State.AfterEof || this.state === State.Done) && this.tailLen === 0;
  }

  push(chunk: Uint8Array): void {
    if (this.error) throw this.error;
    try {
      this.pushInner(chunk);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Declares the end of the input; throws StreamError when the stream stopped before its end. */
  end(): void {
    if (this.error) throw this.error;
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
    switch (this.state) {
      case State.Header:
        return ['header', 'the file header'];
      case State.Configuration:
        return ['CONFIGURATION', 'the CONFIGURATION section'];
      case State.Ram:
        return ['ram record', `the next ram record of section ${this.sectionId} (no EOS yet)`];
      case State.Footer:
        return ['section footer', `the footer of section ${this.sectionId} '${this.sectionName}'`];
      case State.Timer:
      case State.GlobalState:
        return [this.sectionName, `the body of section '${this.sectionName}'`];
      default:
        return ['section', 'the EOF marker'];
    }
  }

  private fail(e: unknown): never {
    const err =
      e instanceof StreamError
        ? e
        : new StreamError(this.consumed, this.record, `handler failed: ${e instanceof Error ? e.message : String(e)}`, {
            cause: e,
          });
    this.error = err;
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
      case State.Ram:
        return this.parseRam(b, p, end);
      case State.Top:
        return this.parseTop(b, p, end);
      case State.Footer:
        return this.parseFooter(b, p, end);
      case State.Header:
        return this.parseHeader(b, p, end);
      case State.Configuration:
        return this.parseConfiguration(b, p, end);
      case State.Timer:
        return this.parseTimer(b, p, end);
      case State.GlobalState:
        return this.parseGlobalState(b, p, end);
      case State.AfterEof:
        return this.parseAfterEof(b, p, end);
      default:
        this.record = 'end of stream';
        throw this.err(`data after the end of the stream (byte ${hex(b[p]!)})`);
    }
  }

  private err(message: string): StreamError {
    return new StreamError(this.consumed, this.record, message);
  }

  private parseHeader(b: Uint8Array, p: number, end: number): number {
    this.record = 'header';
    if (end - p < 4) return -4;
    const magic = be32(b, p);
    if (magic !== QEMU_VM_FILE_MAGIC) throw this.err(`bad magic ${hex(magic)} (expected ${hex(QEMU_VM_FILE_MAGIC)} 'QEVM')`);
    if (end - p < 8) return -8;
    const version = be32(b, p + 4);
    if (version === QEMU_VM_FILE_VERSION_COMPAT) throw this.err('SaveVM v2 format is obsolete and not supported');
    if (version !== QEMU_VM_FILE_VERSION) throw this.err(`unsupported migration stream version ${version} (expected ${QEMU_VM_FILE_VERSION})`);
    this.state = State.Configuration;
    this.v.onHeader?.(version);
    return 8;
  }

  private parseConfiguration(b: Uint8Array, p: number, end: number): number {
    this.record = 'CONFIGURATION';
    if (end - p < 1) return -1;
    if (b[p] !== SectionType.CONFIGURATION) throw this.err(`CONFIGURATION section missing (found byte ${hex(b[p]!)})`);
    if (end - p < 5) return -5;
    const len = be32(b, p + 1);
    if (len > MAX_MACHINE_NAME) throw this.err(`machine name length ${len} exceeds ${MAX_MACHINE_NAME}`);
    if (end - p < 5 + len) return -(5 + len);
    const name = latin1(b, p + 5, p + 5 + len);
    if (name !== this.machine) {
      throw this.err(`machine type received is '${name}' and local is '${this.machine}'`);
    }
    this.state = State.Top;
    this.v.onConfiguration?.(name);
    return 5 + len;
  }

  private parseTop(b: Uint8Array, p: number, end: number): number {
    const type = b[p]!;
    switch (type) {
      case SectionType.START:
      case SectionType.FULL: {
        this.record = type === SectionType.START ? 'SECTION_START' : 'SECTION_FULL';
        if (end - p < 6) return -6;
        const idLen = b[p + 5]!;
        const n = 6 + idLen + 8;
        if (end - p < n) return -n;
        const sectionId = be32(b, p + 1);
        const idstr = latin1(b, p + 6, p + 6 + idLen);
        const instanceId = be32(b, p + 6 + idLen);
        const versionId = be32(b, p + 10 + idLen);
        const known = KNOWN_SECTIONS.find((s) => s.idstr === idstr && s.instanceId === instanceId);
        if (!known) throw this.err(`unknown savevm section or instance '${idstr}' ${instanceId}`);
        if (versionId !== known.version) {
          throw this.err(`unsupported version ${versionId} for '${idstr}' (supported: ${known.version})`);
        }
        if (known.kind !== Kind.Ram && type !== SectionType.FULL) {
          throw this.err(`section '${idstr}' must be sent as SECTION_FULL`);
        }
        this.sections.set(sectionId, known.kind);
        this.sectionId = sectionId;
        this.sectionName = idstr;
        this.state = known.kind === Kind.Ram ? State.Ram : known.kind === Kind.Timer ? State.Timer : State.GlobalState;
        if (type === SectionType.START) this.v.onSectionStart?.(sectionId, idstr, instanceId, versionId);
        else this.v.onSectionFull?.(sectionId, idstr, instanceId, versionId);
        return n;
      }
      case SectionType.PART:
      case SectionType.END: {
        this.record = type === SectionType.PART ? 'SECTION_PART' : 'SECTION_END';
        if (end - p < 5) return -5;
        const sectionId = be32(b, p + 1);
        const kind = this.sections.get(sectionId);
        if (kind === undefined) throw this.err(`unknown savevm section id ${sectionId}`);
        if (kind !== Kind.Ram) throw this.err(`section id ${sectionId} is not an iterative (ram) section`);
        this.sectionId = sectionId;
        this.sectionName = RAM_SECTION.idstr;
        this.state = State.Ram;
        if (type === SectionType.PART) this.v.onSectionPart?.(sectionId);
        else this.v.onSectionEnd?.(sectionId);
        return 5;
      }
      case SectionType.EOF:
        this.record = 'EOF';
        this.state = State.AfterEof;
        this.v.onEof?.();
        return 1;
      default:
        this.record = 'section';
        throw this.err(`unknown or unsupported section type ${hex(type)}${type === SectionType.COMMAND ? ' (QEMU_VM_COMMAND)' : ''}`);
    }
  }

  private parseFooter(b: Uint8Array, p: number, end: number): number {
    this.record = 'section footer';
    if (b[p] !== SectionType.FOOTER) {
      throw this.err(`missing section footer for '${this.sectionName}' (expected 0x7e, found ${hex(b[p]!)})`);
    }
    if (end - p < 5) return -5;
    const id = be32(b, p + 1);
    if (id !== this.sectionId) {
      throw this.err(`mismatched section id in footer for '${this.sectionName}': read ${id}, expected ${this.sectionId}`);
    }
    this.state = State.Top;
    this.v.onFooter?.(id);
    return 5;
  }

  private parseTimer(b: Uint8Array, p: number, end: number): number {
    this.record = 'timer';
    if (end - p < TIMER_BODY_SIZE) return -TIMER_BODY_SIZE;
    this.state = State.Footer;
    this.v.onTimer?.(be64big(b, p), be64big(b, p + 16));
    return TIMER_BODY_SIZE;
  }

  private parseGlobalState(b: Uint8Array, p: number, end: number): number {
    this.record = 'globalstate';
    if (end - p < GLOBALSTATE_BODY_SIZE) return -GLOBALSTATE_BODY_SIZE;
    const start = p + 4;
    let nul = start;
    while (nul < start + GLOBALSTATE_RUNSTATE_SIZE && b[nul] !== 0) nul++;
    if (nul === start + GLOBALSTATE_RUNSTATE_SIZE) throw this.err('runstate is not NUL-terminated within 100 bytes');
    const runstate = latin1(b, start, nul);
    if (!RUN_STATES.has(runstate)) throw this.err(`invalid runstate '${runstate}'`);
    this.state = State.Footer;
    this.v.onGlobalState?.(runstate);
    return GLOBALSTATE_BODY_SIZE;
  }

  private parseAfterEof(b: Uint8Array, p: number, end: number): number {
    if (b[p] !== SectionType.VMDESCRIPTION) {
      this.record = 'end of stream';
      throw this.err(`data after the end of the stream (byte ${hex(b[p]!)} after EOF)`);
    }
    this.record = 'VMDESCRIPTION';
    if (end - p < 5) return -5;
    const len = be32(b, p + 1);
    if (len > MAX_VMDESC) throw this.err(`vmdesc length ${len} exceeds ${MAX_VMDESC}`);
    if (end - p < 5 + len) return -(5 + len);
    const json = utf8(b, p + 5, p + 5 + len);
    this.state = State.Done;
    this.v.onVmdesc?.(json);
    return 5 + len;
  }

  /** Index of the target block whose idstr equals b[p..p+len), or -1. No allocation. */
  private findBlock(b: Uint8Array, p: number, len: number): number {
    const ids = this.blockIds;
    outer: for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id.length !== len) continue;
      for (let k = 0; k < len; k++) if (id[k] !== b[p + k]) continue outer;
      return i;
    }
    return -1;
  }

  private parseRam(b: Uint8Array, p: number, end: number): number {
    const avail = end - p;
    if (avail < 8) {
      this.record = 'ram record';
      return -8;
    }
    const hi = be32(b, p);
    const lo = be32(b, p + 4);
    const flags = lo & RAM_FLAGS_MASK;
    const addr = hi * 0x100000000 + (lo - flags);
    if ((flags & ~RAM_KNOWN_FLAGS) !== 0) {
      this.record = 'ram record';
      const unknown = flags & ~RAM_KNOWN_FLAGS;
      const named = FLAG_NAMES.filter(([f]) => (unknown & f) !== 0).map(([, n]) => n);
      throw this.err(
        `unknown RAM flag(s) ${hex(unknown)}${named.length ? ` (${named.join(', ')}: not supported)` : ''} in ${hex(flags)}`,
      );
    }
    const base = flags & ~RamFlag.CONTINUE;
    if (base === RamFlag.PAGE || base === RamFlag.ZERO || base === RamFlag.XBZRLE) {
      this.record = base === RamFlag.PAGE ? 'ram PAGE' : base === RamFlag.ZERO ? 'ram ZERO' : 'ram XBZRLE';
      let blockIndex: number;
      let q: number;
      if ((flags & RamFlag.CONTINUE) !== 0) {
        blockIndex = this.lastBlock;
        if (blockIndex < 0) throw this.err('CONTINUE flag with no previous RAM block');
        q = p + 8;
      } else {
        if (avail < 9) return -9;
        const idLen = b[p + 8]!;
        if (avail < 9 + idLen) return -(9 + idLen);
        blockIndex = this.findBlock(b, p + 9, idLen);
        if (blockIndex < 0) throw this.err(`unknown RAM block '${latin1(b, p + 9, p + 9 + idLen)}'`);
        q = p + 9 + idLen;
      }
      const block = this.blocks[blockIndex]!;
      if (addr + PAGE_SIZE > block.usedLength) {
        throw this.err(`page offset ${hex(addr)} is outside RAM block '${block.idstr}' (${hex(block.usedLength)} bytes)`);
      }
      if (base === RamFlag.PAGE) {
        if (end - q < PAGE_SIZE) return -(q - p + PAGE_SIZE);
        this.lastBlock = blockIndex;
        this.v.onRamPage?.(blockIndex, addr, b, q);
        return q - p + PAGE_SIZE;
      }
      if (base === RamFlag.ZERO) {
        if (end - q < 1) return -(q - p + 1);
        this.lastBlock = blockIndex;
        this.v.onRamZero?.(blockIndex, addr, b[q]!);
        return q - p + 1;
      }
      if (end - q < 3) return -(q - p + 3);
      if (b[q] !== XBZRLE_ENCODING_FLAG) throw this.err(`wrong XBZRLE encoding flag ${hex(b[q]!)} (expected 0x1)`);
      const len = (b[q + 1]! << 8) | b[q + 2]!;
      if (len > PAGE_SIZE) throw this.err(`XBZRLE data length ${len} exceeds the page size ${PAGE_SIZE}`);
      if (end - q < 3 + len) return -(q - p + 3 + len);
      this.lastBlock = blockIndex;
      this.v.onRamXbzrle?.(blockIndex, addr, b, q + 3, len);
      return q - p + 3 + len;
    }
    if (flags === RamFlag.EOS) {
      this.record = 'ram EOS';
      this.state = State.Footer;
      this.v.onRamEos?.();
      return 8;
    }
    if (flags === RamFlag.MEM_SIZE) {
      this.record = 'ram MEM_SIZE';
      return this.parseMemSize(b, p, end, addr);
    }
    this.record = 'ram record';
    throw this.err(`unknown combination of RAM flags ${hex(flags)}`);
  }

  private parseMemSize(b: Uint8Array, p: number, end: number, total: number): number {
    if (total !== this.ramTotal) {
      throw this.err(`RAM size mismatch: stream has ${total} bytes (${hex(total)}), target has ${this.ramTotal}`);
    }
    const seen = new Uint8Array(this.blocks.length);
    const listed: RamBlockSize[] = [];
    let remaining = total;
    let q = p + 8;
    while (remaining > 0) {
      if (end - q < 1) return -(q - p + 1);
      const idLen = b[q]!;
      if (end - q < 1 + idLen + 8) return -(q - p + 1 + idLen + 8);
      const i = this.findBlock(b, q + 1, idLen);
      const idstr = i >= 0 ? this.blocks[i]!.idstr : latin1(b, q + 1, q + 1 + idLen);
      if (i < 0) throw this.err(`unknown ramblock "${idstr}", cannot accept migration`);
      if (seen[i]) throw this.err(`ramblock "${idstr}" is listed twice`);
      seen[i] = 1;
      listed.push(this.blocks[i]!);
      const length = be32(b, q + 1 + idLen) * 0x100000000 + be32(b, q + 5 + idLen);
      const want = this.blocks[i]!.usedLength;
      if (length !== want) throw this.err(`length mismatch: ${idstr}: ${hex(length)} in != ${hex(want)}`);
      remaining -= length;
      q += 1 + idLen + 8;
    }
    this.v.onRamMemSize?.(listed);
    return q - p;
  }
}
