// A CliIo for tests: captured output, a clock that moves only when the command sleeps, Ctrl-C on demand.
import { PassThrough, Writable } from 'node:stream';
import type { CliIo, CliOutput } from '../io.js';

export class Captured extends Writable {
  text = '';
  isTTY: boolean;
  columns: number;

  constructor(tty = false, columns = 120) {
    super();
    this.isTTY = tty;
    this.columns = columns;
  }

  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface TestIo extends CliIo {
  stdout: Captured & CliOutput;
  stderr: Captured;
  /** Ctrl-C. */
  interrupt(): void;
  clock: { now: number };
}

export function testIo(opts: { tty?: boolean; columns?: number; start?: number } = {}): TestIo {
  const clock = { now: opts.start ?? 1_000_000 };
  const handlers = new Set<() => void>();
  return {
    stdin: new PassThrough(),
    stdout: new Captured(opts.tty ?? false, opts.columns ?? 120),
    stderr: new Captured(),
    clock,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
    onInterrupt(fn) {
      handlers.add(fn);
      return () => handlers.delete(fn);
    },
    interrupt: () => handlers.forEach((fn) => fn()),
  };
}
