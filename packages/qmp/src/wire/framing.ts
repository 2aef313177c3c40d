/**
 * Newline-delimited framing: bytes in, complete lines out. Keeps the unread tail between chunks and bounds a
 * line at `maxLineBytes` (the bound counts bytes before the newline, a trailing CR included). `push` throws on a
 * longer line (the client's use); `pushSkipping` reports it in place and discards its bytes up to its newline,
 * holding none of them (the server's use: the connection goes on with the next line).
 */
export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  /** Lines completed in the same chunk before the long one, still to be processed. */
  lines: string[] = [];
  constructor(readonly limit: number) {
    super(`QMP input line exceeds ${limit} bytes`);
  }
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** In `pushSkipping`'s output: a line over the bound was here (reported once, as soon as it crossed the bound). */
export const LINE_TOO_LONG: unique symbol = Symbol('QMP input line too long');
export type FramedLine = string | typeof LINE_TOO_LONG;

export class LineDecoder {
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Inside a line over the bound: bytes are dropped until its newline. */
  private skipping = false;

  constructor(readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {}

  /** Feeds a chunk; returns the lines it completed (without the newline, trailing CR removed). */
  push(chunk: Buffer): string[] {
    const out = this.pushSkipping(chunk);
    const tooLong = out.indexOf(LINE_TOO_LONG);
    if (tooLong < 0) return out as string[];
    const err = new LineTooLongError(this.maxLineBytes);
    err.lines = out.slice(0, tooLong) as string[];
    // the caller gives up on the stream: start afresh rather than dropping to the next newline
    this.skipping = false;
    this.parts = [];
    this.partBytes = 0;
    throw err;
  }

  /** Feeds a chunk; returns the lines it completed and a LINE_TOO_LONG where a line went over the bound. */
  pushSkipping(chunk: Buffer): FramedLine[] {
    const out: FramedLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      if (this.skipping) {
        this.skipping = false;
      } else {
        const len = this.partBytes + (nl - start);
        if (len > this.maxLineBytes) out.push(LINE_TOO_LONG);
        else out.push(this.complete(chunk.subarray(start, nl), len));
        this.parts = [];
        this.partBytes = 0;
      }
      start = nl + 1;
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.subarray(start);
      if (this.partBytes + rest.length > this.maxLineBytes) {
        out.push(LINE_TOO_LONG);
        this.parts = [];
        this.partBytes = 0;
        this.skipping = true;
      } else {
        this.partBytes += rest.length;
        this.parts.push(rest);
      }
    }
    return out;
  }

  private complete(last: Buffer, len: number): string {
    const line = this.parts.length > 0 ? Buffer.concat([...this.parts, last], len) : last;
    const text = line.toString('utf8');
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  }

  /** Bytes held of a line not yet ended by a newline. */
  get pendingBytes(): number {
    return this.partBytes;
  }

  /** True while the rest of an over-long line is being dropped. */
  get discarding(): boolean {
    return this.skipping;
  }
}
