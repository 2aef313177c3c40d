// The source's reads in flight: a ring of `depth` slots, each with its own 1 MiB buffer, filled by async reads
// and handed to the stream in the order they were issued (so two reads of one chunk reach the target in order).
import type { BlockSourceDevice } from './block-device.js';
import { CHUNK_SIZE } from './constants.js';

const enum SlotState {
  Free,
  Reading,
  Done,
  Failed,
}

export interface ChunkRead {
  device: number;
  chunk: number;
  buf: Uint8Array;
}

class Slot implements ChunkRead {
  state = SlotState.Free;
  device = 0;
  chunk = 0;
  error: Error | undefined;
  /** Resolves when the read settles (never rejects: a failure is kept in `error`). */
  settled: Promise<void> = Promise.resolve();
  constructor(readonly buf: Uint8Array) {}
}

export class ChunkReads {
  private readonly slots: Slot[];
  /** Ring: the oldest read is at `head`, `count` reads from there are in flight or done. */
  private head = 0;
  private count = 0;

  constructor(
    private readonly devices: readonly BlockSourceDevice[],
    depth: number,
    allocate: () => Uint8Array,
  ) {
    this.slots = Array.from({ length: depth }, () => new Slot(allocate()));
  }

  /** Reads issued and not yet taken. */
  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.slots.length;
  }

  /** Starts reading chunk `chunk` of device `device` into the next free slot. Requires !full. */
  issue(device: number, chunk: number): void {
    const slot = this.slots[(this.head + this.count) % this.slots.length]!;
    this.count++;
    const d = this.devices[device]!;
    const offset = chunk * CHUNK_SIZE;
    const len = Math.min(CHUNK_SIZE, d.size - offset);
    slot.state = SlotState.Reading;
    slot.device = device;
    slot.chunk = chunk;
    slot.error = undefined;
    if (len < CHUNK_SIZE) slot.buf.fill(0, len); // the last chunk of a drive travels whole, padded with zeros
    slot.settled = d.read(offset, slot.buf, len).then(
      () => {
        slot.state = SlotState.Done;
      },
      (err: unknown) => {
        const why = err instanceof Error ? err.message : String(err);
        slot.error = new Error(`reading ${len} bytes at byte ${offset} of block device '${d.name}' failed: ${why}`, { cause: err });
        slot.state = SlotState.Failed;
      },
    );
  }

  /** The oldest read if it is done (its buffer valid until the next issue()); throws if it failed. */
  peekDone(): ChunkRead | undefined {
    if (this.count === 0) return undefined;
    const slot = this.slots[this.head]!;
    if (slot.state === SlotState.Failed) throw slot.error!;
    return slot.state === SlotState.Done ? slot : undefined;
  }

  /** Frees the oldest read's slot (after peekDone gave it). */
  take(): void {
    this.slots[this.head]!.state = SlotState.Free;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
  }

  /** Resolves when the oldest read settles; undefined when there is none in flight. */
  whenHeadSettles(): Promise<void> | undefined {
    if (this.count === 0) return undefined;
    const slot = this.slots[this.head]!;
    return slot.state === SlotState.Reading ? slot.settled : undefined;
  }

  /** Waits for every read in flight to settle (before the drives are released). */
  async drain(): Promise<void> {
    for (const s of this.slots) await s.settled;
  }
}
