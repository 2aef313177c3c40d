// A ToolIo for tests: stdin from bytes (in chunks of a chosen size), stdout and stderr kept as text.
import { Readable } from 'node:stream';
import type { ToolIo } from '../src/tools/tool-io.js';

export interface CapturedIo extends ToolIo {
  out: string;
  err: string;
}

export function captureIo(stdin: Uint8Array | Readable = new Uint8Array(0), chunkBytes = 65536): CapturedIo {
  const input = stdin instanceof Uint8Array ? Readable.from(chunks(stdin, chunkBytes)) : stdin;
  const io: CapturedIo = {
    out: '',
    err: '',
    stdin: input,
    stdout: { write: (s: string) => (io.out += s) },
    stderr: { write: (s: string) => (io.err += s) },
  };
  return io;
}

function* chunks(b: Uint8Array, n: number): Generator<Uint8Array> {
  for (let p = 0; p < b.length; p += n) yield b.subarray(p, Math.min(b.length, p + n));
}
