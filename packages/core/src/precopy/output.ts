import { errorMessage } from '../errors.js';
import type { CancelWatch } from './cancel.js';
import { raiseFailure, raiseMade } from './failure.js';
import type { ByteSink, MigrationSaver } from './interfaces.js';
import type { PrecopyStatsRecorder } from './precopy-stats.js';
import type { SinkStallGuard } from './stall-guard.js';

/**
 * Moves what the saver produced to the sink, one awaited write per chunk (the sink's backpressure), and
 * counts what went out: the stream, and what the transport sent beside it (RDMA WRITE of RAM pages).
 */
export class StreamOutput {
  #written = 0;
  #controlSent = 0;

  constructor(
    private readonly saver: MigrationSaver,
    private readonly sink: ByteSink,
    private readonly cancel: CancelWatch,
    private readonly recorder: PrecopyStatsRecorder,
    private readonly guest: { readonly inDowntime: boolean },
    private readonly stall: SinkStallGuard,
  ) {}

  /** Stream bytes handed to the sink so far. */
  get written(): number {
    return this.#written;
  }

  /**
   * Bytes sent so far (query-migrate's transferred, what the bandwidth is measured on): the stream and the
   * saver's controlBytesSent as of the last flush or countControlBytes (QEMU's qemu_file_credit_transfer).
   */
  get transferred(): number {
    return this.#written + this.#controlSent;
  }

  /**
   * Writes the saver's pending chunks (after letting it reuse those the sink has flushed); returns their bytes.
   * A failed write fails the migration ('write') unless it failed because of a cancel or a stall
   * (x-stall-timeout: 'stall', with the stall's message).
   */
  async flush(): Promise<number> {
    const { saver, sink } = this;
    if (saver.recycleOutput !== undefined && sink.bytesFlushed !== undefined) saver.recycleOutput(sink.bytesFlushed);
    const chunks = saver.drainOutput();
    let n = 0;
    for (const chunk of chunks) {
      this.cancel.check();
      this.stall.enter();
      try {
        await sink.write(chunk);
      } catch (err) {
        this.failed(err);
      } finally {
        this.stall.leave();
      }
      n += chunk.length;
      this.recorder.streamBytes(chunk.length, this.guest.inDowntime);
    }
    this.#written += n;
    this.countControlBytes();
    return n;
  }

  /**
   * A write ('write') or sink.end() ('end') rejected: the stall watch's failure, a cancel (not during end(),
   * which ignores it), or the transport's own error.
   */
  failed(err: unknown, phase: 'write' | 'end' = 'write'): never {
    const stalled = this.stall.error;
    if (stalled !== undefined) raiseMade(stalled);
    if (phase === 'write') this.cancel.check();
    return raiseFailure(phase, `migration stream write failed: ${errorMessage(err)}`, err);
  }

  /**
   * Takes in what the transport sent beside the stream since the last call (its writes run behind the
   * stream's): precopy-bytes or downtime-bytes, and transferred.
   */
  countControlBytes(): void {
    const sent = this.saver.controlBytesSent ?? 0;
    if (sent > this.#controlSent) {
      this.recorder.streamBytes(sent - this.#controlSent, this.guest.inDowntime);
      this.#controlSent = sent;
    }
    this.recorder.transferred(this.transferred);
  }
}
