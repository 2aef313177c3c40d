// Writes at positions of output files (RAM blocks, drives) staged in one buffer and written once per batch,
// so memory stays bounded however large the stream is, and the per-page path makes no syscall.
import { closeSync, ftruncateSync, openSync, readSync, write, writeSync } from 'node:fs';
import { copyBytes } from '@mig/savevm';

/** Staged bytes before a batch is written; a write that does not fit flushes first. */
export const STAGE_BYTES = 16 << 20;
const MAX_ENTRIES = 8192;

/** A staged run: bytes stage[at..at+len) go to file `fd` at `pos`. */
interface Run {
  fd: number;
  pos: number;
  at: number;
  len: number;
}

export class PositionalWriter {
  readonly stage = new Uint8Array(STAGE_BYTES);
  private readonly fds: number[] = [];
  private used = 0;
  private readonly fd = new Int32Array(MAX_ENTRIES);
  private readonly pos = new Float64Array(MAX_ENTRIES);
  private readonly at = new Int32Array(MAX_ENTRIES);
  private readonly len = new Int32Array(MAX_ENTRIES);
  private count = 0;

  /** Creates (or truncates) `path` with `size` bytes (a sparse file of zeros); returns its file index. */
  open(path: string, size: number): number {
    const fd = openSync(path, 'w+');
    ftruncateSync(fd, size);
    this.fds.push(fd);
    return this.fds.length - 1;
  }

  /** Copies `len` bytes of `src[srcAt..]` to file `file` at `position` (written at the next flush). */
  write(file: number, position: number, src: Uint8Array, srcAt: number, len: number): void {
    const at = this.reserve(file, position, len);
    copyBytes(src, srcAt, this.stage, at, len);
  }

  /** `len` bytes of `byte` at `position`. */
  fill(file: number, position: number, byte: number, len: number): void {
    const at = this.reserve(file, position, len);
    this.stage.fill(byte, at, at + len);
  }

  /**
   * Stages `len` bytes at `position` holding what the file holds there now (zeros past its end), to be
   * patched in place (XBZRLE): returns their offset in `stage`.
   */
  stageCurrent(file: number, position: number, len: number): number {
    this.flushSync(); // the current bytes may be staged: write them out first, then read them back
    const at = this.reserve(file, position, len);
    const n = readSync(this.fds[file]!, this.stage, at, len, position);
    if (n < len) this.stage.fill(0, at + n, at + len);
    return at;
  }

  /** Sets the file's length (drives: the highest chunk seen, or the size given). */
  setLength(file: number, size: number): void {
    this.flushSync();
    ftruncateSync(this.fds[file]!, size);
  }

  /** Writes what is staged; the caller awaits it once per batch of stream bytes. */
  async flush(): Promise<void> {
    const runs = this.coalesce();
    this.reset();
    for (const r of runs) await writeFully(r, this.stage);
  }

  flushSync(): void {
    for (const r of this.coalesce()) {
      let done = 0;
      while (done < r.len) done += writeSync(r.fd, this.stage, r.at + done, r.len - done, r.pos + done);
    }
    this.reset();
  }

  /** Writes what is staged and closes every file. */
  close(): void {
    try {
      this.flushSync();
    } finally {
      for (const fd of this.fds.splice(0)) closeSync(fd);
    }
  }

  private reserve(file: number, position: number, len: number): number {
    if (len > STAGE_BYTES) throw new RangeError(`positional write of ${len} bytes exceeds the ${STAGE_BYTES}-byte stage`);
    if (this.used + len > STAGE_BYTES || this.count === MAX_ENTRIES) this.flushSync();
    const i = this.count++;
    const at = this.used;
    this.fd[i] = this.fds[file]!;
    this.pos[i] = position;
    this.at[i] = at;
    this.len[i] = len;
    this.used += len;
    return at;
  }

  /** Staged entries as runs, neighbours in one file and in the stage joined (a pass writes pages in order). */
  private coalesce(): Run[] {
    const runs: Run[] = [];
    let run: Run | undefined;
    for (let i = 0; i < this.count; i++) {
      const fd = this.fd[i]!;
      const pos = this.pos[i]!;
      const at = this.at[i]!;
      if (run !== undefined && run.fd === fd && run.pos + run.len === pos && run.at + run.len === at) {
        run.len += this.len[i]!;
      } else {
        run = { fd, pos, at, len: this.len[i]! };
        runs.push(run);
      }
    }
    return runs;
  }

  private reset(): void {
    this.count = 0;
    this.used = 0;
  }
}

function writeFully(r: Run, stage: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= r.len) return resolve();
      write(r.fd, stage, r.at + done, r.len - done, r.pos + done, (err, n) => (err ? reject(err) : step(done + n)));
    };
    step(0);
  });
}
