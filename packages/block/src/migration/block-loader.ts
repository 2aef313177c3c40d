import { copyBytes } from '@mig/savevm';
import type { BlockTargetDevice } from './block-device.js';
import { BlockSectionReader, type BlockVisitor } from './block-section-reader.js';
import { BLOCK_IO_DEPTH, CHUNK_SIZE } from './constants.js';

export interface BlockLoaderOptions {
  /** The target's drives (read-only ones included: a chunk for one is refused, naming it). */
  readonly devices: readonly BlockTargetDevice[];
  /** Makes a 1 MiB chunk buffer: SharedArrayBuffer-backed when a device hands writes to another thread. */
  readonly allocateBuffer?: () => Uint8Array;
  /** Writes in flight before the stream is held back; 16 (QEMU's MAX_PARALLEL_IO) by default. */
  readonly depth?: number;
}

/** A chunk's data past its drive's end that was not zero (see BlockVisitor.onPaddingData). */
export interface PaddingData {
  readonly device: string;
  readonly offset: number;
  readonly bytes: number;
}

/**
 * The target's drives: applies the `block` section's chunks with writes in flight (at most `depth`; the
 * stream is held back through backpressure() beyond that), each chunk's data copied once into a reused
 * buffer. Two records of one chunk are written in stream order. The first write that fails fails the load,
 * naming drive and offset; flush() waits for every write and makes them durable. `section` is what to
 * register with the savevm StreamReader.
 */
export class BlockLoader implements BlockVisitor {
  readonly section: BlockSectionReader;
  private readonly devices: readonly BlockTargetDevice[];
  private readonly allocate: () => Uint8Array;
  private readonly depth: number;
  private readonly free: Uint8Array[] = [];
  /** Per device, the last write queued at each offset, so a chunk's later record lands after its earlier one. */
  private readonly lastWrite: Map<number, Promise<void>>[];
  private readonly touched = new Set<BlockTargetDevice>();
  private inFlight = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  /** Counters of what was applied. */
  chunks = 0;
  zeroChunks = 0;
  bytesWritten = 0;
  /** The source's last PROGRESS (percent of its bulk phase), -1 before any. */
  progress = -1;
  /** Chunk buffers made (the pool grows only while one push holds more chunks than `depth`). */
  buffersAllocated = 0;
  readonly padding: PaddingData[] = [];

  constructor(options: BlockLoaderOptions) {
    this.devices = options.devices;
    this.allocate = options.allocateBuffer ?? (() => new Uint8Array(CHUNK_SIZE));
    this.depth = options.depth ?? BLOCK_IO_DEPTH;
    this.lastWrite = options.devices.map(() => new Map());
    this.section = new BlockSectionReader(options.devices, this);
  }

  onChunk(device: number, offset: number, len: number, buf: Uint8Array | null, at: number): void {
    if (this.failure) throw this.failure;
    const d = this.devices[device]!;
    this.touched.add(d);
    let data: Uint8Array | undefined;
    if (buf === null) this.zeroChunks++;
    else {
      data = this.takeBuffer();
      copyBytes(buf, at, data, 0, len);
      this.chunks++;
    }
    const queued = this.lastWrite[device]!;
    const before = queued.get(offset);
    const write = (): Promise<void> => (data ? d.write(offset, data, len) : d.writeZeroes(offset, len));
    this.inFlight++;
    const done: Promise<void> = (before ? before.then(write) : write()).then(
      () => this.settle(queued, offset, done, data, len),
      (err: unknown) => this.settle(queued, offset, done, data, 0, describeWriteFailure(d, offset, len, buf === null, err)),
    );
    queued.set(offset, done);
  }

  onPaddingData(device: number, offset: number, bytes: number): void {
    this.padding.push({ device: this.devices[device]!.name, offset, bytes });
  }

  onProgress(percent: number): void {
    this.progress = percent;
  }

  backpressure(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight < this.depth) return undefined;
    return new Promise<void>((resolve) => (this.wake = resolve)).then(() => {
      if (this.failure) throw this.failure;
    });
  }

  /** Every write done, then each drive written to flushed. */
  async flush(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
    for (const d of this.touched) await d.flush();
  }

  private takeBuffer(): Uint8Array {
    const b = this.free.pop();
    if (b) return b;
    this.buffersAllocated++;
    return this.allocate();
  }

  private settle(
    queued: Map<number, Promise<void>>, offset: number, done: Promise<void>, data: Uint8Array | undefined, len: number, failure?: Error,
  ): void {
    this.inFlight--;
    if (data) this.free.push(data);
    this.bytesWritten += len;
    if (failure) this.failure ??= failure;
    if (queued.get(offset) === done) queued.delete(offset);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function describeWriteFailure(d: BlockTargetDevice, offset: number, len: number, zero: boolean, err: unknown): Error {
  const why = err instanceof Error ? err.message : String(err);
  return new Error(`${zero ? 'zeroing' : 'writing'} ${len} bytes at byte ${offset} of block device '${d.name}' failed: ${why}`, { cause: err });
}
