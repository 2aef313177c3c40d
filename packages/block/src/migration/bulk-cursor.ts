// The bulk phase's walk over the drives (QEMU's mig_save_device_bulk): every chunk of each drive in turn, or
// with `inc` only the chunks holding something the top image itself allocates — learnt per drive from its
// allocation map, fetched when the walk reaches the drive.
import { DirtyBitmap } from '@mig/core';
import type { BlockSourceDevice } from './block-device.js';
import { CHUNK_SIZE } from './constants.js';

/** The chunks a drive's top image allocates, as a bitmap. */
async function allocatedChunks(d: BlockSourceDevice): Promise<DirtyBitmap> {
  const chunks = Math.ceil(d.size / CHUNK_SIZE);
  const plan = new DirtyBitmap(chunks, undefined, 0, CHUNK_SIZE);
  const extents = await d.allocation(0, d.size);
  for (const e of extents) if (e.allocated && e.length > 0) plan.markRange(e.offset, e.length);
  return plan;
}

export class BulkCursor {
  private device = 0;
  private chunk = 0;
  /** inc: per drive, the chunks to send (once fetched) and the fetch under way. */
  private readonly plans: (DirtyBitmap | undefined)[];
  private planFetch: Promise<void> | undefined;
  private planError: Error | undefined;
  /** Chunks walked past (issued or skipped), for PROGRESS and the disk counters. */
  walked = 0;
  readonly totalChunks: number;

  constructor(
    private readonly devices: readonly BlockSourceDevice[],
    private readonly incremental: boolean,
  ) {
    this.plans = devices.map(() => undefined);
    this.totalChunks = devices.reduce((n, d) => n + Math.ceil(d.size / CHUNK_SIZE), 0);
  }

  get done(): boolean {
    return this.device >= this.devices.length;
  }

  /** Chunks not walked yet: an upper bound of what the bulk phase still sends. */
  get remainingChunks(): number {
    return this.totalChunks - this.walked;
  }

  /** Percent of the bulk walked (QEMU's PROGRESS: submitted over total sectors). */
  get percent(): number {
    return this.totalChunks === 0 ? 100 : Math.floor((this.walked * 100) / this.totalChunks);
  }

  /**
   * The next chunk to read as [device, chunk], or undefined when the bulk is done or (inc) the drive's
   * allocation map is still being fetched — then `waiting` says for what. Throws if that fetch failed.
   */
  next(): [number, number] | undefined {
    while (!this.done) {
      const d = this.devices[this.device]!;
      const chunks = Math.ceil(d.size / CHUNK_SIZE);
      if (this.chunk >= chunks) {
        this.device++;
        this.chunk = 0;
        continue;
      }
      if (this.incremental) {
        const plan = this.planFor(this.device);
        if (plan === undefined) return undefined;
        const at = plan.nextSet(this.chunk);
        const to = at < 0 ? chunks : at;
        this.walked += to - this.chunk;
        this.chunk = to;
        if (at < 0) continue;
      }
      this.walked++;
      return [this.device, this.chunk++];
    }
    return undefined;
  }

  /** What the walk waits for (an allocation map being fetched), if anything. */
  get waiting(): Promise<void> | undefined {
    return this.planFetch;
  }

  private planFor(device: number): DirtyBitmap | undefined {
    if (this.planError) throw this.planError;
    const plan = this.plans[device];
    if (plan !== undefined) return plan;
    const d = this.devices[device]!;
    this.planFetch ??= allocatedChunks(d).then(
      (p) => {
        this.plans[device] = p;
        this.planFetch = undefined;
      },
      (err: unknown) => {
        const why = err instanceof Error ? err.message : String(err);
        this.planError = new Error(`reading the allocation map of block device '${d.name}' failed: ${why}`, { cause: err });
        this.planFetch = undefined;
      },
    );
    return undefined;
  }
}
