import type { DirtyBitmap as DirtyBitmapType } from '../memory/dirty-bitmap.js';
import { DirtyBitmap } from '../memory/dirty-bitmap.js';
import { PAGE_SIZE } from '../memory/constants.js';
import type { GuestRam } from '../memory/guest-ram.js';
import { isZeroPage } from '../memory/zero-page.js';
import {
  GLOBALSTATE_RUNSTATE_SIZE,
  GLOBALSTATE_SECTION,
  RAM_SECTION,
  RUN_STATES,
  TIMER_BODY_SIZE,
  TIMER_SECTION,
} from '../wire/constants.js';
import { StreamWriter } from '../wire/stream-writer.js';
import { XbzrlePageCache, XbzrlePageEncoder, XbzrleResult, validateXbzrleCacheSize, type XbzrleStats } from '../xbzrle/index.js';
import type { MigrationSaver } from '@mig/core';
import { machineNoneVmdesc } from './vmdesc.js';

export interface SavevmSaverOptions {
  /** Machine type written in CONFIGURATION (the target checks it), e.g. `none`. */
  readonly machine: string;
  readonly ram: GuestRam;
  /**
   * Where the guest's writes are recorded: one bitmap per RAM block (same order as `ram.blocks`), or one
   * bitmap over all blocks numbered in order (`ram.firstPage`). The saver clears the bits it harvests.
   */
  readonly dirty: DirtyBitmapType | readonly DirtyBitmapType[];
  /** Only 4096 (x86 TARGET_PAGE_SIZE) is supported. */
  readonly pageSize?: number;
  /** Output chunk size; 1 MiB by default. */
  readonly chunkSize?: number;
  /**
   * XBZRLE cache size in bytes (the `xbzrle` capability on, `xbzrle-cache-size`): as QEMU 7.2's ram.c,
   * after the first complete round pages are cached when sent and resent pages go as XBZRLE deltas.
   * Off when absent.
   */
  readonly xbzrle?: number;
  /** Clock (ms) for the 1 s periods of the xbzrle rates (cache-miss-rate, encoding-rate); Date.now by default. */
  readonly now?: () => number;
}

type Phase = 'new' | 'active' | 'completed';

/**
 * The source side of a QEMU 7.2 `-machine none` migration stream: the `ram` section (iterative) plus
 * `timer` and `globalstate`, framed as savevm does. Pure: it writes into output chunks that the
 * caller takes with `drainOutput()`.
 */
export class SavevmSaver implements MigrationSaver {
  private readonly machine: string;
  private readonly ram: GuestRam;
  private readonly dirtyPerBlock: readonly DirtyBitmapType[] | undefined;
  private readonly dirtyAll: DirtyBitmapType | undefined;
  private readonly toSend: DirtyBitmapType[];
  private readonly writer: StreamWriter;
  private phase: Phase = 'new';
  private synced = false;
  private toSendCount = 0;
  /** Where the next iterate() resumes scanning. */
  private cursorBlock = 0;
  private cursorPage = 0;
  /** Block of the last page record written (CONTINUE when the next page is in it), across sections. */
  private lastSentBlock = -1;
  /** XBZRLE cache + encoder when the option is on. */
  private readonly xbzrleEncoder: XbzrlePageEncoder | undefined;
  /** QEMU's rs->xbzrle_enabled: set once the page scan has wrapped (the bulk round is over). */
  private xbzrleActive = false;
  /** Where encodePage writes a delta (one page, reused). */
  private readonly xbzrleOut: Uint8Array;
  /** Whether complete() is sending (QEMU's rs->last_stage). */
  private lastStage = false;
  /** Pages handled (QEMU's target_page_count) and the state of the current xbzrle-rates period. */
  private targetPages = 0;
  private ratesPagesPrev = 0;
  private ratesTime = 0;
  private readonly now: () => number;

  /** Counters for query-migrate. */
  normalPages = 0;
  /**
   * RAM bytes counted as QEMU 7.2 counts ram.transferred: page records (header, idstr, data) and the EOS
   * of each iterate/complete; not the file header, section framing, MEM_SIZE or device sections.
   */
  ramTransferredBytes = 0;
  zeroPages = 0;
  dirtySyncCount = 0;
  /** XBZRLE records written (the encoder's `pages` also counts hits that were skipped or overflowed). */
  xbzrleRecords = 0;

  constructor(options: SavevmSaverOptions) {
    if ((options.pageSize ?? PAGE_SIZE) !== PAGE_SIZE) {
      throw new RangeError(`page size ${options.pageSize} is not supported (only ${PAGE_SIZE})`);
    }
    this.machine = options.machine;
    this.ram = options.ram;
    const blocks = options.ram.blocks;
    if (Array.isArray(options.dirty)) {
      const list = options.dirty as readonly DirtyBitmapType[];
      if (list.length !== blocks.length) {
        throw new RangeError(`${list.length} dirty bitmaps for ${blocks.length} RAM blocks`);
      }
      list.forEach((d, i) => {
        if (d.pages !== blocks[i]!.usedLength / PAGE_SIZE) {
          throw new RangeError(`dirty bitmap ${i} covers ${d.pages} pages, block ${blocks[i]!.idstr} has ${blocks[i]!.usedLength / PAGE_SIZE}`);
        }
      });
      this.dirtyPerBlock = list;
    } else {
      const d = options.dirty as DirtyBitmapType;
      if (d.pages !== options.ram.totalPages) {
        throw new RangeError(`dirty bitmap covers ${d.pages} pages, guest RAM has ${options.ram.totalPages}`);
      }
      this.dirtyAll = d;
    }
    this.toSend = blocks.map((b) => new DirtyBitmap(b.usedLength / PAGE_SIZE));
    this.writer = new StreamWriter(options.chunkSize);
    this.now = options.now ?? Date.now;
    if (options.xbzrle !== undefined) {
      validateXbzrleCacheSize(options.xbzrle);
      this.xbzrleEncoder = new XbzrlePageEncoder(new XbzrlePageCache(this.cacheArenaBytes(options.xbzrle), PAGE_SIZE));
      this.xbzrleEncoder.stats['cache-size'] = options.xbzrle;
      this.xbzrleOut = new Uint8Array(PAGE_SIZE);
    } else {
      this.xbzrleOut = new Uint8Array(0);
    }
  }

  /** Whether XBZRLE is on for this migration. */
  get xbzrleEnabled(): boolean {
    return this.xbzrleEncoder !== undefined;
  }

  /**
   * The `xbzrle-cache` counters of query-migrate (live object, updated in place; undefined when XBZRLE is
   * off). cache-miss-rate and encoding-rate change at a dirty sync at least 1 s after the previous change.
   */
  get xbzrleStats(): Readonly<XbzrleStats> | undefined {
    return this.xbzrleEncoder?.stats;
  }

  /**
   * migrate-set-parameters {xbzrle-cache-size} / migrate-set-cache-size while migrating: the cache gets the
   * new size (what still fits is kept; a kept entry still equals the target's page, so the wire stays right).
   * @throws XbzrleCacheSizeError (QEMU's message) for a size QEMU refuses; Error when XBZRLE is off.
   */
  resizeXbzrleCache(cacheBytes: number): void {
    if (!this.xbzrleEncoder) throw new Error('SavevmSaver: XBZRLE is not enabled for this migration');
    validateXbzrleCacheSize(cacheBytes);
    if (cacheBytes === this.xbzrleEncoder.stats['cache-size']) return;
    this.xbzrleEncoder.resize(this.cacheArenaBytes(cacheBytes));
    this.xbzrleEncoder.stats['cache-size'] = cacheBytes;
  }

  /**
   * Bytes to allocate for a cache of `cacheBytes`: QEMU allocates cached pages lazily, so a cache larger than
   * guest RAM (accepted by QEMU 7.2) costs it nothing; ours is one arena, so it stops at the smallest power
   * of two of pages covering RAM — with that many slots no two pages share one, as with any larger size.
   */
  private cacheArenaBytes(cacheBytes: number): number {
    let cover = PAGE_SIZE;
    while (cover < this.ram.totalBytes) cover *= 2;
    return Math.min(cacheBytes, cover);
  }

  /** query-migrate ram.transferred (see ramTransferredBytes). */
  get transferredBytes(): number {
    return this.ramTransferredBytes;
  }

  /** Every stream byte produced so far, framing and device sections included. */
  get streamBytes(): number {
    return this.writer.bytesWritten;
  }

  /** Bytes of page data sent as PAGE records (query-migrate ram.normal-bytes). */
  get normalBytes(): number {
    return this.normalPages * PAGE_SIZE;
  }

  /** query-migrate ram.remaining. */
  get remainingBytes(): number {
    return this.pendingBytes();
  }

  setup(): void {
    if (this.phase !== 'new') throw new Error('SavevmSaver.setup() called twice');
    const w = this.writer;
    w.header();
    w.configuration(this.machine);
    w.sectionStart(RAM_SECTION.sectionId, RAM_SECTION.idstr, RAM_SECTION.instanceId, RAM_SECTION.version);
    w.ramMemSize(this.ram.blocks);
    w.ramEos();
    w.footer(RAM_SECTION.sectionId);
    this.phase = 'active';
  }

  /**
   * Moves the guest's dirty bits into the set still to send. The first sync selects every page (the
   * bulk pass) and clears what the bitmaps had recorded so far.
   */
  syncDirty(): void {
    const blocks = this.ram.blocks;
    const first = !this.synced;
    let added = 0;
    for (let i = 0; i < blocks.length; i++) {
      const dest = this.toSend[i]!;
      if (this.dirtyPerBlock) added += this.dirtyPerBlock[i]!.moveInto(dest);
      else added += this.dirtyAll!.moveRangeInto(this.ram.firstPage[i]!, dest.pages, dest, 0);
      if (first) dest.setAll();
    }
    this.toSendCount = first ? this.ram.totalPages : this.toSendCount + added;
    this.synced = true;
    this.dirtySyncCount++;
    if (this.xbzrleEncoder) {
      // migration_bitmap_sync: the rates are recomputed once a period of more than 1 s has passed
      const t = this.now();
      if (first) this.ratesTime = t;
      else if (t > this.ratesTime + 1000) {
        this.xbzrleEncoder.updateRates(this.targetPages - this.ratesPagesPrev);
        this.ratesPagesPrev = this.targetPages;
        this.ratesTime = t;
      }
    }
  }

  pendingBytes(): number {
    return this.synced ? this.toSendCount * PAGE_SIZE : this.ram.totalBytes;
  }

  /**
   * Writes one SECTION_PART of ram with pages from the to-send set until `maxBytes` is reached or the
   * set is empty (at least one page). Writes nothing and returns 0 when there is nothing to send. Before the first
   * syncDirty() it performs it (all pages are due anyway).
   */
  iterate(maxBytes: number): number {
    this.requireActive('iterate');
    if (!this.synced) this.syncDirty();
    if (this.toSendCount === 0) return 0;
    const w = this.writer;
    const start = w.bytesWritten;
    w.sectionPart(RAM_SECTION.sectionId);
    const limit = start + maxBytes;
    do this.sendNextPage(); // at least one page per call, so a small budget still makes progress
    while (this.toSendCount > 0 && w.bytesWritten < limit);
    this.ramTransferredBytes += w.ramEos();
    w.footer(RAM_SECTION.sectionId);
    return w.bytesWritten - start;
  }

  complete(runstate: string): void {
    this.requireActive('complete');
    if (!RUN_STATES.has(runstate)) throw new RangeError(`unknown runstate '${runstate}'`);
    this.syncDirty();
    const w = this.writer;
    w.sectionEnd(RAM_SECTION.sectionId);
    this.lastStage = true;
    while (this.toSendCount > 0) this.sendNextPage();
    this.ramTransferredBytes += w.ramEos();
    w.footer(RAM_SECTION.sectionId);

    w.sectionFull(TIMER_SECTION.sectionId, TIMER_SECTION.idstr, TIMER_SECTION.instanceId, TIMER_SECTION.version);
    w.bytes(new Uint8Array(TIMER_BODY_SIZE)); // cpu_ticks_offset, unused, cpu_clock_offset: no clock is modelled
    w.footer(TIMER_SECTION.sectionId);

    const gs = new Uint8Array(4 + GLOBALSTATE_RUNSTATE_SIZE);
    const name = Buffer.from(runstate, 'latin1');
    new DataView(gs.buffer).setUint32(0, name.length + 1);
    gs.set(name, 4);
    w.sectionFull(GLOBALSTATE_SECTION.sectionId, GLOBALSTATE_SECTION.idstr, GLOBALSTATE_SECTION.instanceId, GLOBALSTATE_SECTION.version);
    w.bytes(gs);
    w.footer(GLOBALSTATE_SECTION.sectionId);

    w.eof();
    w.vmdesc(machineNoneVmdesc());
    this.phase = 'completed';
  }

  drainOutput(): Uint8Array[] {
    return this.writer.drain();
  }

  /** The first `flushedBytes` stream bytes have left the process: their chunks may be reused. */
  recycleOutput(flushedBytes: number): void {
    this.writer.recycle(flushedBytes);
  }

  private requireActive(what: string): void {
    if (this.phase === 'new') throw new Error(`SavevmSaver.${what}() before setup()`);
    if (this.phase === 'completed') throw new Error(`SavevmSaver.${what}() after complete()`);
  }

  /** Takes the next page of the to-send set (round robin from the cursor) and writes it. Requires toSendCount > 0. */
  private sendNextPage(): void {
    const blocks = this.ram.blocks;
    let bi = this.cursorBlock;
    let bitmap = this.toSend[bi]!;
    let page = bitmap.nextSet(this.cursorPage);
    while (page < 0) {
      bi = bi + 1 === blocks.length ? 0 : bi + 1;
      if (bi === 0 && this.xbzrleEncoder) this.xbzrleActive = true; // looped: XBZRLE from now on
      bitmap = this.toSend[bi]!;
      page = bitmap.nextSet(0);
    }
    bitmap.words[page >>> 5] = bitmap.words[page >>> 5]! & ~(1 << (page & 31));
    this.toSendCount--;
    this.cursorBlock = bi;
    this.cursorPage = page + 1;

    const block = blocks[bi]!;
    const offset = page * PAGE_SIZE;
    const same = bi === this.lastSentBlock;
    const enc = this.xbzrleActive ? this.xbzrleEncoder : undefined;
    if (isZeroPage(block.bytes, offset)) {
      this.ramTransferredBytes += this.writer.ramZero(block.idstr, same, offset, 0);
      this.zeroPages++;
      // a cached copy of the old content would be stale: the cache now holds a zero page for it
      if (enc && !this.lastStage) enc.cacheZeroPage((this.ram.firstPage[bi]! + page) * PAGE_SIZE, this.dirtySyncCount);
    } else if (enc) {
      const headerBytes = same ? 8 : 9 + Buffer.byteLength(block.idstr);
      const len = enc.encodePage(
        (this.ram.firstPage[bi]! + page) * PAGE_SIZE, block.bytes, offset, this.dirtySyncCount,
        this.xbzrleOut, 0, this.lastStage, headerBytes,
      );
      if (len === XbzrleResult.Skip) {
        // unchanged since it was last sent: nothing goes out, the block of the last record stays
        return;
      }
      if (len > 0) {
        this.ramTransferredBytes += this.writer.ramXbzrle(block.idstr, same, offset, this.xbzrleOut, 0, len);
        this.xbzrleRecords++;
      } else {
        // cache miss or overflow: the bytes the cache now holds (or the guest page), as a normal page
        this.ramTransferredBytes += this.writer.ramPage(block.idstr, same, offset, enc.sendBuf, enc.sendOff);
        this.normalPages++;
      }
    } else {
      this.ramTransferredBytes += this.writer.ramPage(block.idstr, same, offset, block.bytes, offset);
      this.normalPages++;
    }
    this.targetPages++;
    this.lastSentBlock = bi;
  }
}
