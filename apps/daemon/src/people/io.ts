// What a `mig` command reads and writes, so tests (and the tools plugged into mig) run on streams of their own.
import type { Readable, Writable } from 'node:stream';

export interface CliOutput extends Writable {
  /** A terminal: the live bar redraws one line in place. */
  isTTY?: boolean;
  /** Its width, when a terminal. */
  columns?: number;
}

export interface CliIo {
  stdin: Readable;
  stdout: CliOutput;
  stderr: Writable;
  /** Clock, ms. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Calls `fn` on Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(fn: () => void): () => void;
}

/** The process's own streams, clock and SIGINT. */
export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    onInterrupt(fn) {
      process.on('SIGINT', fn);
      return () => process.off('SIGINT', fn);
    },
  };
}
