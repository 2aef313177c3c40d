import type { MigrationFailedError } from '../errors.js';
import { stallError, StallWatch, type SetTimer, type StallProbe } from '../stall.js';
import type { ByteSink } from './interfaces.js';

/**
 * x-stall-timeout on the outgoing stream: the loop marks when it waits on the sink (a write held by
 * backpressure, sink.end()) and counts completed writes; one StallWatch timer reads those and the sink's
 * bytesFlushed. When the target took nothing for the timeout the sink is destroyed with the stall failure, so
 * the blocked write returns and the migration fails with that message.
 */
export class SinkStallGuard implements StallProbe {
  #waiting = false;
  #completed = 0;
  #error: MigrationFailedError | undefined;
  readonly #watch: StallWatch;

  constructor(
    private readonly sink: ByteSink,
    timeoutMs: () => number,
    clock: { now: () => number; setTimer?: SetTimer | undefined },
  ) {
    this.#watch = new StallWatch({
      probe: this,
      timeoutMs,
      onStall: (idleMs, timeout) => {
        this.#error = stallError('target', idleMs, timeout);
        this.sink.destroy(this.#error);
      },
      now: clock.now,
      ...(clock.setTimer ? { setTimer: clock.setTimer } : {}),
    });
  }

  progress(): number {
    return this.#completed + (this.sink.bytesFlushed ?? 0);
  }

  waiting(): boolean {
    return this.#waiting;
  }

  /** The stall failure, once the watch has fired. */
  get error(): MigrationFailedError | undefined {
    return this.#error;
  }

  start(): void {
    this.#watch.start();
  }

  stop(): void {
    this.#watch.stop();
  }

  /** Before awaiting the sink. */
  enter(): void {
    this.#waiting = true;
  }

  /** After the sink's promise settled (either way). */
  leave(): void {
    this.#waiting = false;
    this.#completed++;
  }
}
