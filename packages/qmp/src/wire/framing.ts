/**
 * Newline-delimited framing: bytes in, complete lines out. Keeps the unread tail between chunks and refuses a
 * line longer than `maxLineBytes` (the bound counts bytes before the newline, a trailing CR included).
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

export class LineDecoder {
  private parts: Buffer[] = [];
  private partBytes = 0;

  constructor(readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {}

  /** Feeds a chunk; returns the lines it completed (without the newline, trailing CR removed). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const len = this.partBytes + (nl - start);
      if (len > this.maxLineBytes) throw this.overflow(lines);
      let line: Buffer = chunk.subarray(start, nl);
      if (this.parts.length > 0) {
        this.parts.push(line);
        line = Buffer.concat(this.parts, len);
        this.parts = [];
        this.partBytes = 0;
      }
      let text = line.toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      lines.push(text);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.partBytes += rest.length;
      if (this.partBytes > this.maxLineBytes) throw this.overflow(lines);
      this.parts.push(rest);
    }
    return lines;
  }

  private overflow(lines: string[]): LineTooLongError {
    this.parts = [];
    this.partBytes = 0;
    const err = new LineTooLongError(this.maxLineBytes);
    err.lines = lines;
    return err;
  }

  /** Bytes held of a line not yet ended by a newline. */
  get pendingBytes(): number {
    return this.partBytes;
  }
}
