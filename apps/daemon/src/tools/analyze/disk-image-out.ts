// `--disk-out DIR`: each drive of the stream as the file DIR/DEVICE. The stream does not say how large a
// drive is: a file ends at the end of the highest chunk seen (whole MiB, padding included) unless its size
// was given (`--disk-size DEVICE=SIZE`), which also cuts the last chunk at the drive's end as a target does.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CHUNK_SIZE } from '@mig/block';
import { outputPath } from './output-path.js';
import { UnitBitmap } from './page-bitmap.js';
import type { PositionalWriter } from './positional-writer.js';

export interface DiskImageFile {
  readonly device: string;
  readonly path: string;
  /** The file's length once written. */
  bytes: number;
  /** Whether that length is the size given, not the highest chunk's end. */
  readonly sizeGiven: boolean;
}

export class DiskImageOut {
  readonly files: DiskImageFile[] = [];
  private readonly fileIndex: number[] = [];
  private readonly written: UnitBitmap[] = [];
  private readonly highestEnd: number[] = [];

  constructor(
    private readonly dir: string,
    private readonly writer: PositionalWriter,
    private readonly sizes: ReadonlyMap<string, number>,
  ) {}

  /** A drive named for the first time in the stream (device index = the order of first appearance). */
  open(name: string): void {
    const path = outputPath(this.dir, name);
    mkdirSync(dirname(path), { recursive: true });
    const size = this.sizes.get(name);
    this.fileIndex.push(this.writer.open(path, size ?? 0));
    this.written.push(new UnitBitmap());
    this.highestEnd.push(0);
    this.files.push({ device: name, path, bytes: size ?? 0, sizeGiven: size !== undefined });
  }

  /** A chunk's bytes (`buf` null: a zero chunk) at `offset`, `len` bytes long (cut at a given size). */
  chunk(device: number, offset: number, len: number, buf: Uint8Array | null, at: number): void {
    const unit = offset / CHUNK_SIZE;
    const written = this.written[device]!;
    if (buf !== null) this.writer.write(this.fileIndex[device]!, offset, buf, at, len);
    else if (written.has(unit)) this.writer.fill(this.fileIndex[device]!, offset, 0, len);
    if (buf !== null) written.set(unit);
    if (offset + len > this.highestEnd[device]!) this.highestEnd[device] = offset + len;
  }

  /** Sets each file's length: the size given, or the highest chunk's end. */
  finish(): void {
    for (const [i, f] of this.files.entries()) {
      if (!f.sizeGiven) {
        f.bytes = this.highestEnd[i]!;
        this.writer.setLength(this.fileIndex[i]!, f.bytes);
      }
    }
  }
}
