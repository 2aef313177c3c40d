import { DirtyBitmap } from '@mig/core';
import type { IterativeSaveSection, StreamWriter } from '@mig/savevm';
import type { BlockSourceDevice } from './block-device.js';
import { writeBlockChunk, writeBlockEos, writeBlockProgress, writeBlockZeroChunk } from './block-record-writer.js';
import { BulkCursor } from './bulk-cursor.js';
import { ChunkReads, type ChunkRead } from './chunk-reads.js';
import { BLOCK_IO_DEPTH, BLOCK_SECTION, CHUNK_SECTORS, CHUNK_SIZE } from './constants.js';

export interface BlockSaveSectionOptions {
  /** The writable drives to migrate (read-only drives are not migrated, as QEMU). */
  readonly devices: readonly BlockSourceDevice[];
  /** `inc` / block-incremental: the bulk phase sends only chunks the top image itself allocates. */
  readonly incremental?: boolean;
  /** Capability zero-blocks: an all-zero chunk goes as a flag, without its 1 MiB. */
  readonly zeroBlocks?: boolean;
  /** Makes a 1 MiB read buffer: SharedArrayBuffer-backed when a device reads in another thread. */
  readonly allocateBuffer?: () => Uint8Array;
  /** Reads in flight; 16 (QEMU's MAX_PARALLEL_IO) by default. */
  readonly depth?: number;
  /** The section id in the stream; QEMU 7.2's for `-machine none` (1) by default. */
  readonly sectionId?: number;
}

/**
 * The source side of QEMU 7.2's `block` section: a bulk phase over every drive, then the chunks the guest
 * wrote meanwhile (one dirty bit per 1 MiB chunk), each read asynchronously with up to `depth` reads in
 * flight and written to the stream in the order issued. Unlike QEMU 7.2.0, what the bulk phase has not read
 * yet counts as pending and holds the switchover back (threshold + 1 MiB), so the disk is whole on the target
 * at any bandwidth. After the guest stopped, the loop drains what is left through iterate(); complete()
 * refuses to end the section while anything is still due, so no write made before the switchover is lost.
 */
export class BlockSaveSection implements IterativeSaveSection {
  readonly iterative = true;
  readonly idstr = BLOCK_SECTION.idstr;
  readonly instanceId = BLOCK_SECTION.instanceId;
  readonly version = BLOCK_SECTION.version;
  readonly sectionId: number;

  private readonly devices: readonly BlockSourceDevice[];
  private readonly names: readonly Uint8Array[];
  private readonly zeroBlocks: boolean;
  private readonly bulk: BulkCursor;
  private readonly reads: ChunkReads;
  /** Chunks the guest wrote, harvested from the drives' live bitmaps, not yet read again. */
  private readonly toSend: DirtyBitmap[];
  private toSendCount = 0;
  private dirtyDevice = 0;
  private dirtyChunk = 0;
  private progressSent = -1;

  /** query-migrate disk.total: the drives' sizes. */
  readonly totalBytes: number;
  /** Chunk records written (data and zero), and their stream bytes (query-migrate disk.transferred). */
  chunksSent = 0;
  zeroChunksSent = 0;
  transferredBytes = 0;
  /** Chunks sent again because the guest wrote them during the migration. */
  dirtyChunksSent = 0;

  constructor(options: BlockSaveSectionOptions) {
    this.devices = options.devices;
    this.sectionId = options.sectionId ?? BLOCK_SECTION.sectionId;
    this.names = options.devices.map((d) => encodeName(d.name));
    this.zeroBlocks = options.zeroBlocks === true;
    this.bulk = new BulkCursor(options.devices, options.incremental === true);
    this.reads = new ChunkReads(options.devices, options.depth ?? BLOCK_IO_DEPTH, options.allocateBuffer ?? (() => new Uint8Array(CHUNK_SIZE)));
    this.toSend = options.devices.map((d) => new DirtyBitmap(d.dirty.pages, undefined, 0, CHUNK_SIZE));
    this.totalBytes = options.devices.reduce((n, d) => n + d.size, 0);
    for (const d of options.devices) {
      if (d.dirty.unitBytes !== CHUNK_SIZE || d.dirty.pages !== Math.ceil(d.size / CHUNK_SIZE)) {
        throw new RangeError(`block device '${d.name}': its dirty bitmap must have one bit per 1 MiB chunk (${Math.ceil(d.size / CHUNK_SIZE)})`);
      }
    }
  }

  /** Whether the bulk phase has issued its last read. */
  get bulkCompleted(): boolean {
    return this.bulk.done;
  }

  /** query-migrate disk.remaining: what is still to read or send (no hold-back). */
  get remainingBytes(): number {
    return (this.bulk.remainingChunks + this.reads.size + this.toSendCount) * CHUNK_SIZE;
  }

  /** START: nothing yet. The guest's writes count from here: what came before, the bulk phase reads. */
  setup(out: StreamWriter): void {
    for (const d of this.devices) d.dirty.clearAll();
    writeBlockEos(out);
    this.pump();
  }

  syncDirty(): void {
    for (let i = 0; i < this.devices.length; i++) this.toSendCount += this.devices[i]!.dirty.moveInto(this.toSend[i]!);
  }

  pending(threshold: number): number {
    const bytes = this.remainingBytes;
    return this.bulk.done ? bytes : Math.max(bytes, threshold + CHUNK_SIZE);
  }

  whenReady(): Promise<void> | undefined {
    this.pump();
    if (this.reads.peekDone() !== undefined) return undefined;
    return this.reads.whenHeadSettles() ?? this.bulk.waiting;
  }

  /** The chunks whose reads are done, in order, up to `budget`; PROGRESS of the bulk; EOS. */
  iterate(out: StreamWriter, budget: number): boolean {
    const limit = out.bytesWritten + budget;
    let stoppedAtBudget = false;
    this.pump();
    for (let r = this.reads.peekDone(); r !== undefined; r = this.reads.peekDone()) {
      this.send(out, r);
      this.reads.take();
      this.pump();
      if (out.bytesWritten >= limit) {
        stoppedAtBudget = true;
        break;
      }
    }
    this.sendProgress(out);
    writeBlockEos(out);
    return !stoppedAtBudget;
  }

  /** END with the guest stopped: the loop has sent everything through iterate(); PROGRESS 100, EOS. */
  complete(out: StreamWriter): void {
    const left = this.remainingBytes / CHUNK_SIZE;
    if (left > 0) {
      throw new Error(`block migration cannot complete: ${left} chunk(s) of the disks are still to send (written during the switchover?)`);
    }
    writeBlockProgress(out, 100);
    writeBlockEos(out);
  }

  /** Waits for reads still in flight (a cancelled or failed migration, before its drives are released). */
  drain(): Promise<void> {
    return this.reads.drain();
  }

  /** Issues reads until `depth` are in flight: bulk chunks first, then the chunks the guest wrote. */
  private pump(): void {
    while (!this.reads.full) {
      const next = this.bulk.done ? this.nextDirty() : this.bulk.next();
      if (next === undefined) return;
      const [device, chunk] = next;
      // a write from here on sets the bit again and the chunk is read again; one before it is in this read
      this.devices[device]!.dirty.testAndClear(chunk);
      if (this.toSend[device]!.testAndClear(chunk)) this.toSendCount--;
      this.reads.issue(device, chunk);
    }
  }

  /** The next chunk of the to-send set, round robin over the drives. */
  private nextDirty(): [number, number] | undefined {
    if (this.toSendCount === 0) return undefined;
    for (let tries = 0; tries <= this.devices.length; tries++) {
      const chunk = this.toSend[this.dirtyDevice]!.nextSet(this.dirtyChunk);
      if (chunk >= 0) {
        this.dirtyChunk = chunk + 1;
        this.dirtyChunksSent++;
        return [this.dirtyDevice, chunk];
      }
      this.dirtyDevice = (this.dirtyDevice + 1) % this.devices.length;
      this.dirtyChunk = 0;
    }
    return undefined;
  }

  private send(out: StreamWriter, r: ChunkRead): void {
    const name = this.names[r.device]!;
    const sector = r.chunk * CHUNK_SECTORS;
    if (this.zeroBlocks && isZeroChunk(r.buf)) {
      this.transferredBytes += writeBlockZeroChunk(out, name, sector);
      this.zeroChunksSent++;
    } else {
      this.transferredBytes += writeBlockChunk(out, name, sector, r.buf);
    }
    this.chunksSent++;
  }

  /** PROGRESS when the share of the bulk walked has changed (QEMU's targets print it). */
  private sendProgress(out: StreamWriter): void {
    if (this.progressSent === 100) return;
    const percent = this.bulk.percent;
    if (percent === this.progressSent || percent === 100) return; // 100 goes with END, as QEMU sends it
    this.transferredBytes += writeBlockProgress(out, percent);
    this.progressSent = percent;
  }
}

function encodeName(name: string): Uint8Array {
  const b = Buffer.from(name, 'utf8');
  if (b.length === 0 || b.length > 255) throw new RangeError(`block device name ${JSON.stringify(name)} must be 1..255 bytes`);
  return b;
}

const wordViews = new WeakMap<Uint8Array, Uint32Array>();

/** Whether the 1 MiB chunk is all zero (word-wise, over a view made once per buffer: the hot check of zero-blocks). */
function isZeroChunk(buf: Uint8Array): boolean {
  let words = wordViews.get(buf);
  if (words === undefined) {
    words = new Uint32Array(buf.buffer, buf.byteOffset, CHUNK_SIZE / 4);
    wordViews.set(buf, words);
  }
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}
