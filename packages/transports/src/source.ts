import type { RamLoadControl } from '@mig/core';
import type { Readable } from 'node:stream';
import { TransportError, describeCause, errorCode } from './errors.js';
import { DEFAULT_HIGH_WATER_MARK } from './sink.js';
import type { ByteSource } from './types.js';

export interface ReadableSourceOptions {
  /** The endpoint as a migration URI, for error messages. */
  endpoint: string;
  /** Bytes queued unread before the readable is paused. */
  highWaterMark?: number;
  /** Turns a failure of the readable into the error the iteration rejects with; it may wait. */
  explainFailure?: (err: Error, bytesRead: number) => Promise<Error>;
  /** Runs after the readable ended, before the iteration completes (exec: the exit status). */
  afterEnd?: () => Promise<void>;
  /** Runs once when the source is done: ended, destroyed or failed. */
  release?: () => void;
  /** A transport that carries RAM itself (rdma with `TransportContext.ram`): the ram loader's hook. */
  ramControl?: RamLoadControl;
}

/**
 * A `ByteSource` over a node Readable. Chunks are yielded exactly as the readable emitted them (no
 * copy, no concatenation); at most about `highWaterMark` bytes wait unread before the readable is
 * paused. It can be iterated once.
 */
export class ReadableSource implements ByteSource {
  readonly #stream: Readable;
  readonly #options: ReadableSourceOptions;
  readonly #highWaterMark: number;
  #queue: (Uint8Array | undefined)[] = [];
  #head = 0;
  #queuedBytes = 0;
  #bytesRead = 0;
  #ended = false;
  #iterated = false;
  #released = false;
  #failing: Promise<Error> | undefined;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  /** The RAM control hook for @mig/ram's RamLoader when this transport writes RAM itself (rdma). */
  readonly ramControl: RamLoadControl | undefined;

  constructor(stream: Readable, options: ReadableSourceOptions) {
    this.ramControl = options.ramControl;
    this.#stream = stream;
    this.#options = options;
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    stream.on('error', this.#onError);
    stream.on('end', this.#onEnd);
    stream.on('close', this.#onClose);
    stream.on('data', this.#onData);
    stream.resume(); // a socket accepted with pauseOnConnect stays paused until told
  }

  /** Bytes handed to the consumer so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#iterated) {
      throw new TransportError(`migration stream ${this.#options.endpoint} is already being read`, {
        endpoint: this.#options.endpoint,
      });
    }
    this.#iterated = true;
    let complete = false;
    try {
      for (;;) {
        if (this.#head < this.#queue.length) {
          const chunk = this.#take();
          yield chunk;
          continue;
        }
        if (this.#failing !== undefined) throw await this.#failing;
        if (this.#ended) break;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
      await this.#options.afterEnd?.();
      complete = true;
    } catch (err) {
      // A failure seen while the end check ran, or the end check's own error.
      const failure = this.#failing !== undefined ? await this.#failing : err;
      this.#settle(failure instanceof Error ? failure : new Error(String(failure)));
      throw failure;
    } finally {
      if (!complete) this.#settle(undefined);
      this.#release();
    }
  }

  destroy(err?: Error): void {
    if (this.#failing !== undefined || (this.#ended && this.#released)) return;
    this.#settle(
      err ??
        new TransportError(
          `migration stream ${this.#options.endpoint} was destroyed after ${this.#bytesRead} bytes`,
          { endpoint: this.#options.endpoint, bytes: this.#bytesRead },
        ),
    );
  }

  #take(): Uint8Array {
    const chunk = this.#queue[this.#head] as Uint8Array;
    this.#queue[this.#head] = undefined; // the consumer owns it now
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    this.#queuedBytes -= chunk.byteLength;
    this.#bytesRead += chunk.byteLength;
    if (this.#queuedBytes < this.#highWaterMark && this.#stream.isPaused() && !this.#ended) this.#stream.resume();
    return chunk;
  }

  /** Fail with `err` (when given and no failure yet), stop the stream and wake the reader. */
  #settle(err: Error | undefined): void {
    if (err !== undefined && this.#failing === undefined) {
      this.#failing = Promise.resolve(err);
      this.#failure = err;
    }
    this.#queue = [];
    this.#head = 0;
    this.#queuedBytes = 0;
    if (!this.#stream.destroyed) this.#stream.destroy();
    this.#release();
    this.#wakeReader();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#options.release?.();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The error the source failed with, once known. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  readonly #onData = (chunk: Uint8Array): void => {
    if (this.#failing !== undefined) return;
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    if (this.#queuedBytes >= this.#highWaterMark) this.#stream.pause();
    this.#wakeReader();
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wakeReader();
  };

  readonly #onError = (err: Error): void => {
    if (this.#failing !== undefined) return;
    const read = this.#bytesRead + this.#queuedBytes;
    const explained =
      this.#options.explainFailure?.(err, read) ?? Promise.resolve(describeReadFailure(this.#options.endpoint, err, read));
    this.#failing = explained.then(
      (e) => (this.#failure = e),
      () => (this.#failure = describeReadFailure(this.#options.endpoint, err, read)),
    );
    void this.#failing.then(() => this.#wakeReader());
  };

  readonly #onClose = (): void => {
    if (this.#ended || this.#failing !== undefined) return;
    const read = this.#bytesRead + this.#queuedBytes;
    this.#failing = Promise.resolve(
      (this.#failure = new TransportError(
        `migration stream ${this.#options.endpoint} closed before its end after ${read} bytes`,
        { endpoint: this.#options.endpoint, bytes: read },
      )),
    );
    this.#wakeReader();
  };
}

/** "peer reset the migration stream (ECONNRESET) after N bytes", and the like. */
export function describeReadFailure(endpoint: string, err: Error, read: number): TransportError {
  const code = errorCode(err);
  const options = { endpoint, bytes: read, code, cause: err };
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new TransportError(`peer reset the migration stream (${code}) after ${read} bytes [${endpoint}]`, options);
  }
  return new TransportError(
    `reading the migration stream from ${endpoint} failed after ${read} bytes: ${describeCause(err)}`,
    options,
  );
}
