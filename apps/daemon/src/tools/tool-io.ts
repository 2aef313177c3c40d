// The streams a tool runs with: process.stdin/stdout/stderr from the CLI, anything alike in tests.
import type { Readable } from 'node:stream';

export interface ToolIo {
  readonly stdin: Readable | AsyncIterable<Uint8Array>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** Exit statuses every tool uses. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_IO = 3;
