import type { IterativeSaveSection, StreamWriter } from '@mig/savevm';
import type { DirtyBitmap as DirtyBitmapType, RamControlPhase, RamSaveControl } from '@mig/core';
import { DirtyBitmap } from '@mig/core';
import { PAGE_SIZE } from '../memory/constants.js';
import type { GuestRam } from '../memory/guest-ram.js';
import { isZeroPage } from '../memory/zero-page.js';
import { RAM_SECTION } from '../wire/constants.js';
import { encodeBlockId, writeRamEos, writeRamMemSize, writeRamPage, writeRamXbzrle, writeRamZero } from '../wire/ram-record-writer.js';
import { XbzrlePageCache, XbzrlePageEncoder, XbzrleResult, validateXbzrleCacheSize, type XbzrleStats } from '../xbzrle/index.js';

export interface RamSaveSectionOptions {
  readonly ram: GuestRam;
  /**
   * Where the guest's writes are recorded: one bitmap per RAM block (same order as `ram.blocks`), or one
   * bitmap over all blocks numbered in order (`ram.firstPage`). The section clears the bits it harvests.
   */
  readonly dirty: DirtyBitmapType | readonly DirtyBitmapType[];
  /** Only 4096 (x86 TARGET_PAGE_SIZE) is supported. */
  readonly pageSize?: number;
  /**
   * XBZRLE cache size in bytes (the `xbzrle` capability on, `xbzrle-cache-size`): as QEMU 7.2's ram.c,
   * after the first complete round pages are cached when sent and resent pages go as XBZRLE deltas.
   * Off when absent.
   */
  readonly xbzrle?: number;
  /** Clock (ms) for the 1 s periods of the xbzrle rates (cache-miss-rate, encoding-rate); Date.now by default. */
  readonly now?: () => number;
  /** The section id in the stream; QEMU 7.2's for `-machine none` (2) by default. */
  readonly sectionId?: number;
  /**
   * A transport that carries RAM itself (rdma): its hooks run around each body and see every page first
   * (QEMU's ram_control_*). A page it takes gets no record; XBZRLE and the zero check never see it, as in
   * QEMU 7.2, whose ram_save_target_page tries the control path first.
   */
  readonly control?: RamSaveControl;
}

/**
 * The source side of QEMU 7.2's `ram` section (ram_save_setup / ram_save_iterate / ram_save_complete): MEM_SIZE
 * at setup, then pages from the to-send set in round-robin order — ZERO for zero pages, PAGE, or XBZRLE deltas
 * once the bulk round is over — each body ending with EOS. The last block written carries across sections
 * (CONTINUE).
 */
export class RamSaveSection implements IterativeSaveSection {
  readonly iterative = true;
  readonly idstr = RAM_SECTION.idstr;
  readonly instanceId = RAM_SECTION.instanceId;
  readonly version = RAM_SECTION.version;
  readonly sectionId: number;

  private readonly ram: GuestRam;
  private readonly blockIds: readonly Uint8Array[];
  private readonly harvest: RamDirtyHarvest;
  private readonly toSend: DirtyBitmapType[];
  private synced = false;
  private toSendCount = 0;
  /** Where the next page search resumes. */
  private cursorBlock = 0;
  private cursorPage = 0;
  /** Block of the last page record written (CONTINUE when the next page is in it), across sections. */
  private lastSentBlock = -1;
  private readonly xbzrle: XbzrleState | undefined;
  private readonly control: RamSaveControl | undefined;

  /** PAGE records written (normalPages adds the pages the control path wrote). */
  private recordPages = 0;
  /** ZERO records written (zeroPages adds the zero pages the control path sent as a mark). */
  private zeroRecords = 0;
  /**
   * Stream bytes counted as QEMU 7.2 counts ram.transferred: page records (header, idstr, data) and the EOS
   * of each iterate/complete; not the file header, section framing, MEM_SIZE or device sections.
   */
  ramTransferredBytes = 0;
  dirtySyncCount = 0;
  /** XBZRLE records written (the encoder's `pages` also counts hits that were skipped or overflowed). */
  xbzrleRecords = 0;
  /** Pages handled (QEMU's target_page_count). */
  targetPages = 0;
  /** Pages the control hook took (sent by RDMA: no record in the stream). */
  controlPages = 0;

  constructor(options: RamSaveSectionOptions) {
    if ((options.pageSize ?? PAGE_SIZE) !== PAGE_SIZE) {
      throw new RangeError(`page size ${options.pageSize} is not supported (only ${PAGE_SIZE})`);
    }
    this.ram = options.ram;
    this.sectionId = options.sectionId ?? RAM_SECTION.sectionId;
    this.blockIds = options.ram.blocks.map((b) => encodeBlockId(b.idstr));
    this.harvest = new RamDirtyHarvest(options.ram, options.dirty);
    this.toSend = options.ram.blocks.map((b) => new DirtyBitmap(b.usedLength / PAGE_SIZE));
    if (options.xbzrle !== undefined) this.xbzrle = new XbzrleState(options.ram, options.xbzrle, options.now ?? Date.now);
    this.control = options.control;
  }

  /** Whether XBZRLE is on for this migration. */
  get xbzrleEnabled(): boolean {
    return this.xbzrle !== undefined;
  }

  /**
   * The `xbzrle-cache` counters of query-migrate (live object, updated in place; undefined when XBZRLE is
   * off). cache-miss-rate and encoding-rate change at a dirty sync at least 1 s after the previous change.
   */
  get xbzrleStats(): Readonly<XbzrleStats> | undefined {
    return this.xbzrle?.encoder.stats;
  }

  /**
   * migrate-set-parameters {xbzrle-cache-size} / migrate-set-cache-size while migrating: the cache gets the
   * new size (what still fits is kept; a kept entry still equals the target's page, so the wire stays right).
   * @throws XbzrleCacheSizeError (QEMU's message) for a size QEMU refuses; Error when XBZRLE is off.
   */
  resizeXbzrleCache(cacheBytes: number): void {
    if (!this.xbzrle) throw new Error('RamSaveSection: XBZRLE is not enabled for this migration');
    this.xbzrle.resize(cacheBytes);
  }

  /**
   * query-migrate ram.transferred as QEMU 7.2 counts it: ramTransferredBytes, the bytes the control path
   * wrote, and 1 byte per page it took (control_save_page credits the 1 byte qemu_rdma_save_page reports).
   */
  get transferredBytes(): number {
    return this.ramTransferredBytes + this.controlBytesSent + this.controlPages;
  }

  /** query-migrate ram.normal: PAGE records and pages the control path wrote (QEMU's acct_update_position). */
  get normalPages(): number {
    return this.recordPages + this.controlBytesSent / PAGE_SIZE;
  }

  /** query-migrate ram.duplicate: ZERO records and zero pages the control path sent as a mark (COMPRESS). */
  get zeroPages(): number {
    return this.zeroRecords + (this.control?.sent?.zeroBytes ?? 0) / PAGE_SIZE;
  }

  /** Bytes of page data sent as pages (query-migrate ram.normal-bytes). */
  get normalBytes(): number {
    return this.normalPages * PAGE_SIZE;
  }

  /** Pages the control path took, a page each: they count against each iterate budget when taken. */
  get controlBytesTaken(): number {
    return this.controlPages * PAGE_SIZE;
  }

  /** Bytes the control path has written of the pages it took (transferred, bandwidth), counted when sent. */
  get controlBytesSent(): number {
    return this.control?.sent?.writtenBytes ?? 0;
  }

  /** query-migrate ram.remaining. */
  get remainingBytes(): number {
    return this.pending();
  }

  /** MEM_SIZE and the block list, the control hooks' setup (RDMA: HOOK, the block exchange), EOS. */
  setup(out: StreamWriter): void {
    writeRamMemSize(out, this.ram.blocks);
    this.control?.beforeIterate(out, 'setup');
    this.control?.afterIterate(out, 'setup');
    writeRamEos(out);
  }

  /** A control hook that queues its I/O may ask the walk to come back later (bounded memory). */
  whenReady(): Promise<void> | undefined {
    return this.control?.whenReady?.();
  }

  /**
   * Moves the guest's dirty bits into the set still to send. The first sync selects every page (the
   * bulk pass) and clears what the bitmaps had recorded so far.
   */
  syncDirty(): void {
    const first = !this.synced;
    const added = this.harvest.moveInto(this.toSend, first);
    this.toSendCount = first ? this.ram.totalPages : this.toSendCount + added;
    this.synced = true;
    this.dirtySyncCount++;
    this.xbzrle?.onSync(first, this.targetPages);
  }

  pending(): number {
    return this.synced ? this.toSendCount * PAGE_SIZE : this.ram.totalBytes;
  }

  /**
   * Pages from the to-send set until `budget` bytes are written or the set is empty (at least one page), then
   * EOS. Before the first syncDirty() it performs it (all pages are due anyway).
   */
  iterate(out: StreamWriter, budget: number): boolean {
    if (!this.synced) this.syncDirty();
    this.beforeBody(out, 'round');
    // pages the control path took count against the budget as in the stream (QEMU's rate_limit_used += size)
    const limit = out.bytesWritten + this.controlBytesTaken + budget;
    while (this.toSendCount > 0) {
      this.sendNextPage(out);
      // at least one page per call, so a small budget still makes progress
      if (out.bytesWritten + this.controlBytesTaken >= limit) break;
    }
    this.afterBody(out, 'round');
    return this.toSendCount === 0;
  }

  complete(out: StreamWriter): void {
    if (this.xbzrle) this.xbzrle.lastStage = true;
    this.beforeBody(out, 'finish');
    while (this.toSendCount > 0) this.sendNextPage(out);
    this.afterBody(out, 'finish');
  }

  private beforeBody(out: StreamWriter, phase: RamControlPhase): void {
    this.control?.beforeIterate(out, phase);
  }

  /** after_iterate must come before EOS: the RDMA destination reads no stream bytes until it is done. */
  private afterBody(out: StreamWriter, phase: RamControlPhase): void {
    this.control?.afterIterate(out, phase);
    this.ramTransferredBytes += writeRamEos(out);
  }

  /** The next page of the to-send set in round-robin order from the cursor; requires toSendCount > 0. */
  private takeNextPage(): number {
    const blocks = this.ram.blocks;
    let bi = this.cursorBlock;
    let bitmap = this.toSend[bi]!;
    let page = bitmap.nextSet(this.cursorPage);
    while (page < 0) {
      bi = bi + 1 === blocks.length ? 0 : bi + 1;
      if (bi === 0 && this.xbzrle) this.xbzrle.active = true; // looped: XBZRLE from now on (rs->xbzrle_enabled)
      bitmap = this.toSend[bi]!;
      page = bitmap.nextSet(0);
    }
    bitmap.words[page >>> 5] = bitmap.words[page >>> 5]! & ~(1 << (page & 31));
    this.toSendCount--;
    this.cursorBlock = bi;
    this.cursorPage = page + 1;
    return page;
  }

  /** Takes the next page and writes its record. */
  private sendNextPage(out: StreamWriter): void {
    const page = this.takeNextPage();
    const bi = this.cursorBlock;
    const block = this.ram.blocks[bi]!;
    const offset = page * PAGE_SIZE;
    if (this.control?.savePage(bi, offset) === true) {
      // no header written: CONTINUE stays relative to the last record in the stream (QEMU's last_sent_block)
      this.controlPages++;
      this.targetPages++;
      return;
    }
    const id = bi === this.lastSentBlock ? null : this.blockIds[bi]!;
    const x = this.xbzrle?.active ? this.xbzrle : undefined;
    if (isZeroPage(block.bytes, offset)) {
      this.ramTransferredBytes += writeRamZero(out, id, offset, 0);
      this.zeroRecords++;
      // a cached copy of the old content would be stale: the cache now holds a zero page for it
      if (x && !x.lastStage) x.encoder.cacheZeroPage((this.ram.firstPage[bi]! + page) * PAGE_SIZE, this.dirtySyncCount);
    } else if (x) {
      if (!this.sendXbzrlePage(out, x, bi, page, id)) return; // unchanged since last sent: nothing goes out
    } else {
      this.ramTransferredBytes += writeRamPage(out, id, offset, block.bytes, offset);
      this.recordPages++;
    }
    this.targetPages++;
    this.lastSentBlock = bi;
  }

  /** A page once XBZRLE is active: a delta, or a normal page on a miss or overflow. False when skipped. */
  private sendXbzrlePage(out: StreamWriter, x: XbzrleState, bi: number, page: number, id: Uint8Array | null): boolean {
    const block = this.ram.blocks[bi]!;
    const offset = page * PAGE_SIZE;
    const headerBytes = id === null ? 8 : 9 + id.length;
    const enc = x.encoder;
    const len = enc.encodePage(
      (this.ram.firstPage[bi]! + page) * PAGE_SIZE, block.bytes, offset, this.dirtySyncCount,
      x.out, 0, x.lastStage, headerBytes,
    );
    if (len === XbzrleResult.Skip) return false;
    if (len > 0) {
      this.ramTransferredBytes += writeRamXbzrle(out, id, offset, x.out, 0, len);
      this.xbzrleRecords++;
    } else {
      // cache miss or overflow: the bytes the cache now holds (or the guest page), as a normal page
      this.ramTransferredBytes += writeRamPage(out, id, offset, enc.sendBuf, enc.sendOff);
      this.recordPages++;
    }
    return true;
  }
}

/** Where the guest's dirty bits come from: one bitmap per block, or one over all blocks in order. */
class RamDirtyHarvest {
  private readonly perBlock: readonly DirtyBitmapType[] | undefined;
  private readonly all: DirtyBitmapType | undefined;

  constructor(private readonly ram: GuestRam, dirty: DirtyBitmapType | readonly DirtyBitmapType[]) {
    const blocks = ram.blocks;
    if (Array.isArray(dirty)) {
      const list = dirty as readonly DirtyBitmapType[];
      if (list.length !== blocks.length) throw new RangeError(`${list.length} dirty bitmaps for ${blocks.length} RAM blocks`);
      list.forEach((d, i) => {
        const pages = blocks[i]!.usedLength / PAGE_SIZE;
        if (d.pages !== pages) throw new RangeError(`dirty bitmap ${i} covers ${d.pages} pages, block ${blocks[i]!.idstr} has ${pages}`);
      });
      this.perBlock = list;
    } else {
      const d = dirty as DirtyBitmapType;
      if (d.pages !== ram.totalPages) throw new RangeError(`dirty bitmap covers ${d.pages} pages, guest RAM has ${ram.totalPages}`);
      this.all = d;
    }
  }

  /** Moves the dirty bits into `dest` (one bitmap per block); `all` also selects every page. Returns pages added. */
  moveInto(dest: readonly DirtyBitmapType[], all: boolean): number {
    let added = 0;
    for (let i = 0; i < dest.length; i++) {
      const d = dest[i]!;
      if (this.perBlock) added += this.perBlock[i]!.moveInto(d);
      else added += this.all!.moveRangeInto(this.ram.firstPage[i]!, d.pages, d, 0);
      if (all) d.setAll();
    }
    return added;
  }
}

/** XBZRLE on the save side: cache + encoder, the page buffer for deltas, and the 1 s rate periods. */
class XbzrleState {
  readonly encoder: XbzrlePageEncoder;
  /** Where encodePage writes a delta (one page, reused). */
  readonly out = new Uint8Array(PAGE_SIZE);
  /** QEMU's rs->xbzrle_enabled: set once the page scan has wrapped (the bulk round is over). */
  active = false;
  /** Whether complete() is sending (QEMU's rs->last_stage). */
  lastStage = false;
  private ratesPagesPrev = 0;
  private ratesTime = 0;

  constructor(private readonly ram: GuestRam, cacheBytes: number, private readonly now: () => number) {
    validateXbzrleCacheSize(cacheBytes);
    this.encoder = new XbzrlePageEncoder(new XbzrlePageCache(this.arenaBytes(cacheBytes), PAGE_SIZE));
    this.encoder.stats['cache-size'] = cacheBytes;
  }

  resize(cacheBytes: number): void {
    validateXbzrleCacheSize(cacheBytes);
    if (cacheBytes === this.encoder.stats['cache-size']) return;
    this.encoder.resize(this.arenaBytes(cacheBytes));
    this.encoder.stats['cache-size'] = cacheBytes;
  }

  /** migration_bitmap_sync: the rates are recomputed once a period of more than 1 s has passed. */
  onSync(first: boolean, targetPages: number): void {
    const t = this.now();
    if (first) this.ratesTime = t;
    else if (t > this.ratesTime + 1000) {
      this.encoder.updateRates(targetPages - this.ratesPagesPrev);
      this.ratesPagesPrev = targetPages;
      this.ratesTime = t;
    }
  }

  /**
   * Bytes to allocate for a cache of `cacheBytes`: QEMU allocates cached pages lazily, so a cache larger than
   * guest RAM (accepted by QEMU 7.2) costs it nothing; ours is one arena, so it stops at the smallest power
   * of two of pages covering RAM — with that many slots no two pages share one, as with any larger size.
   */
  private arenaBytes(cacheBytes: number): number {
    let cover = PAGE_SIZE;
    while (cover < this.ram.totalBytes) cover *= 2;
    return Math.min(cacheBytes, cover);
  }
}
