import type { Writable } from 'node:stream';
import type { RamSaveControl } from '@mig/core';
import { TransportError, describeCause, errorCode } from './errors.js';
import type { ByteSink } from './types.js';

/** 4 MiB: enough in flight to keep a loopback socket busy between two writes of the migration loop. */
export const DEFAULT_HIGH_WATER_MARK = 4 * 1024 * 1024;

export interface WritableSinkOptions {
  /** The endpoint as a migration URI, for error messages. */
  endpoint: string;
  /** Bytes the sink buffers before `write` waits for 'drain'; never below the writable's own mark. */
  highWaterMark?: number;
  /**
   * Turns a failure of the writable into the error callers see. It may wait (exec waits for the
   * command's exit status). `flushed` is the number of bytes the OS had accepted.
   */
  explainFailure?: (err: Error, flushed: number) => Promise<Error>;
  /** Runs after the writable finished flushing, before `end()` resolves (exec: the exit status). */
  afterFinish?: () => Promise<void>;
  /** Runs once when the sink is done: finished, destroyed or failed (sockets: close; exec: stop the command). */
  release?: () => void;
  /** A transport that carries RAM itself (rdma with `TransportContext.ram`): the ram section's hook. */
  ramControl?: RamSaveControl;
}

const DONE: Promise<void> = Promise.resolve();
const rethrow = (err: Error): never => {
  throw err;
};

type State = 'open' | 'ending' | 'finished' | 'failed';

/**
 * A `ByteSink` over a node Writable. `write` resolves at once while less than the high-water mark
 * is buffered, else on 'drain'; once the stream fails every call rejects with the same clear error.
 * Chunks are handed to the writable as they are: the caller must not reuse them.
 */
export class WritableSink implements ByteSink {
  readonly #stream: Writable;
  readonly #options: WritableSinkOptions;
  readonly #highWaterMark: number;
  #state: State = 'open';
  #bytesWritten = 0;
  #bytesFlushed = 0;
  /** 'finish' was seen: everything reached the OS; `afterFinish` may still be running. */
  #flushedAll = false;
  /** Set as soon as a failure is known; resolves to the error callers see. */
  #failing: Promise<Error> | undefined;
  #failure: Error | undefined;
  #drain: Promise<void> | undefined;
  #drainResolve: (() => void) | undefined;
  #drainReject: ((err: Error) => void) | undefined;
  #end: Promise<void> | undefined;
  #endResolve: (() => void) | undefined;
  #endReject: ((err: Error) => void) | undefined;

  /** The RAM control hook for @mig/ram's RamSaveSection when this transport writes RAM itself (rdma). */
  readonly ramControl: RamSaveControl | undefined;

  constructor(stream: Writable, options: WritableSinkOptions) {
    this.ramControl = options.ramControl;
    this.#stream = stream;
    this.#options = options;
    this.#highWaterMark = Math.max(options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, stream.writableHighWaterMark);
    stream.on('drain', this.#onDrain);
    stream.on('error', this.#onError);
    stream.on('close', this.#onClose);
    stream.on('finish', this.#onFinish);
  }

  /** Bytes accepted by `write` so far. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Bytes the OS has taken (written to the socket or pipe). */
  get bytesFlushed(): number {
    return this.#bytesFlushed;
  }

  /** Bytes accepted but still buffered in this process. */
  get bufferedBytes(): number {
    return this.#stream.writableLength;
  }

  get highWaterMark(): number {
    return this.#highWaterMark;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#failing !== undefined) return this.#failing.then(rethrow);
    if (this.#state !== 'open') {
      return Promise.reject(new TransportError(`write to migration stream ${this.#options.endpoint} after end()`, {
        endpoint: this.#options.endpoint,
        bytes: this.#bytesWritten,
      }));
    }
    // Destroyed, but its 'error' or 'close' has not come yet: the wait ends with that failure.
    if (this.#stream.destroyed) return this.#waitForDrain();
    if (chunk.byteLength === 0) return DONE;
    const ok = this.#stream.write(chunk, this.#onChunkWritten);
    this.#bytesWritten += chunk.byteLength;
    // The writable's own mark never exceeds ours, so reaching ours means write() returned false and
    // 'drain' will come. (A writable reports errors asynchronously, never from inside write().)
    if (ok || this.#stream.writableLength < this.#highWaterMark) return DONE;
    return this.#waitForDrain();
  }

  #waitForDrain(): Promise<void> {
    if (this.#drain === undefined) {
      this.#drain = new Promise<void>((resolve, reject) => {
        this.#drainResolve = resolve;
        this.#drainReject = reject;
      });
    }
    return this.#drain;
  }

  /** Resolves when every byte is flushed (and, for exec, the command exited with status 0). */
  end(): Promise<void> {
    if (this.#end !== undefined) return this.#end;
    if (this.#failing !== undefined) return this.#failing.then(rethrow);
    this.#state = 'ending';
    this.#end = new Promise<void>((resolve, reject) => {
      this.#endResolve = resolve;
      this.#endReject = reject;
    });
    this.#stream.end();
    return this.#end;
  }

  destroy(err?: Error): void {
    if (this.#failing !== undefined || this.#state === 'finished') return;
    const reason =
      err ??
      new TransportError(
        `migration stream ${this.#options.endpoint} was destroyed after ${this.#bytesFlushed} bytes`,
        { endpoint: this.#options.endpoint, bytes: this.#bytesFlushed },
      );
    this.#fail(Promise.resolve(reason));
    this.#stream.destroy();
  }

  #fail(failing: Promise<Error>): void {
    if (this.#failing !== undefined) return;
    this.#state = 'failed';
    this.#failing = failing;
    void failing.then((err) => {
      this.#failure = err;
      // Released only now: explaining the failure may need the peer as it was (exec: its exit status).
      this.#options.release?.();
      const rejectDrain = this.#drainReject;
      const rejectEnd = this.#endReject;
      this.#clearDrain();
      this.#endResolve = this.#endReject = undefined;
      rejectDrain?.(err);
      rejectEnd?.(err);
    });
  }

  /** The error the sink failed with, once known. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  #clearDrain(): void {
    this.#drain = this.#drainResolve = this.#drainReject = undefined;
  }

  readonly #onChunkWritten = (err?: Error | null): void => {
    if (err === undefined || err === null) this.#bytesFlushed = this.#bytesWritten - this.#stream.writableLength;
  };

  readonly #onDrain = (): void => {
    const resolve = this.#drainResolve;
    this.#clearDrain();
    resolve?.();
  };

  readonly #onError = (err: Error): void => {
    if (this.#failing !== undefined) return;
    const flushed = this.#bytesFlushed;
    const explained = this.#options.explainFailure?.(err, flushed) ?? Promise.resolve(this.#describe(err, flushed));
    this.#fail(explained.catch((e: unknown) => (e instanceof Error ? e : this.#describe(err, flushed))));
  };

  readonly #onClose = (): void => {
    if (this.#failing !== undefined || this.#state === 'finished' || this.#flushedAll) return;
    const flushed = this.#bytesFlushed;
    this.#fail(
      Promise.resolve(
        new TransportError(`migration stream ${this.#options.endpoint} closed after ${flushed} bytes`, {
          endpoint: this.#options.endpoint,
          bytes: flushed,
        }),
      ),
    );
  };

  readonly #onFinish = (): void => {
    // A writable finished by someone else than end() is a close: #onClose reports it.
    if (this.#failing !== undefined || this.#state !== 'ending') return;
    this.#flushedAll = true;
    this.#bytesFlushed = this.#bytesWritten;
    const after = this.#options.afterFinish?.() ?? DONE;
    after.then(
      () => {
        if (this.#failing !== undefined) return;
        this.#state = 'finished';
        const resolve = this.#endResolve;
        this.#endResolve = this.#endReject = undefined;
        this.#options.release?.();
        resolve?.();
      },
      (err: unknown) => {
        this.#fail(Promise.resolve(err instanceof Error ? err : new Error(String(err))));
      },
    );
  };

  #describe(err: Error, flushed: number): TransportError {
    return describeWriteFailure(this.#options.endpoint, err, flushed);
  }
}

/** "peer closed the migration stream (EPIPE) after N bytes", and the like. */
export function describeWriteFailure(endpoint: string, err: Error, flushed: number): TransportError {
  const code = errorCode(err);
  const options = { endpoint, bytes: flushed, code, cause: err };
  if (code === 'EPIPE' || code === 'ECONNRESET') {
    return new TransportError(`peer closed the migration stream (${code}) after ${flushed} bytes [${endpoint}]`, options);
  }
  return new TransportError(
    `writing the migration stream to ${endpoint} failed after ${flushed} bytes: ${describeCause(err)}`,
    options,
  );
}
