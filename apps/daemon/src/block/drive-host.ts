// The main thread's end of a migration worker's drive channel: serves read / write / writeZeroes / allocation
// / flush of the named drive against its one open image, many requests at once. Reads land straight in the
// SharedArrayBuffer the worker posted, writes go from it: no chunk is copied on this side. Writes here are
// an incoming migration's (Drive.migrationWrite: no dirty bit, allowed while the guest waits for the stream).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { AllocationExtent } from '@mig/block';
import { encodeError } from '@mig/core';
import type { Drive } from './drive.js';
import type { DriveReply, DriveRequest } from './drive-protocol.js';

export class DriveHost {
  readonly #drives: ReadonlyMap<string, Drive>;
  #inFlight = 0;
  #idle: Array<() => void> = [];
  #closed = false;
  /** Reused for every success without extents: postMessage copies it at once. */
  readonly #ok: { id: number; ok: true } = { id: 0, ok: true };
  /** Requests served, and the bytes read from and written to the drives for them. */
  requests = 0;
  bytesRead = 0;
  bytesWritten = 0;

  constructor(
    drives: Iterable<Drive>,
    private readonly port: MessagePort,
  ) {
    this.#drives = new Map([...drives].map((d) => [d.id, d]));
    port.on('message', this.#onMessage);
  }

  /** Requests received and not answered yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Waits for the requests in flight (their replies go out), then closes the port. */
  async close(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#closed = true;
    this.port.off('message', this.#onMessage);
    this.port.close();
  }

  readonly #onMessage = (request: DriveRequest): void => {
    this.#inFlight++;
    this.requests++;
    void this.#serve(request);
  };

  async #serve(request: DriveRequest): Promise<void> {
    let reply: DriveReply;
    try {
      const extents = await this.#run(request);
      if (extents === undefined) {
        this.#ok.id = request.id;
        reply = this.#ok;
      } else {
        reply = { id: request.id, ok: true, extents };
      }
    } catch (err) {
      reply = { id: request.id, ok: false, error: encodeError(err) };
    }
    if (!this.#closed) this.port.postMessage(reply);
    if (--this.#inFlight === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  #run(request: DriveRequest): Promise<AllocationExtent[] | void> {
    const drive = this.#drives.get(request.drive);
    if (drive === undefined) throw new Error(`drive host: no drive '${request.drive}' (has ${[...this.#drives.keys()].join(', ') || 'none'})`);
    switch (request.op) {
      case 'read':
        checkShared(request.op, request.buf, request.len);
        this.bytesRead += request.len;
        return drive.read(request.offset, request.buf, request.len);
      case 'write':
        checkShared(request.op, request.buf, request.len);
        this.bytesWritten += request.len;
        return drive.migrationWrite(request.offset, request.buf, request.len);
      case 'writeZeroes':
        return drive.migrationWriteZeroes(request.offset, request.len);
      case 'allocation':
        return drive.allocation(request.offset, request.len);
      case 'flush':
        return drive.flush();
      default:
        throw new Error(`drive host: unknown request ${JSON.stringify((request as { op?: unknown }).op)}`);
    }
  }
}

/** A posted buffer that is not shared memory was copied on the way, and a read into it would be lost. */
function checkShared(op: string, buf: Uint8Array, len: number): void {
  if (!(buf instanceof Uint8Array) || !(buf.buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(`drive host: a ${op} buffer must be a Uint8Array over a SharedArrayBuffer (allocateChunkBuffer)`);
  }
  if (!Number.isSafeInteger(len) || len < 0 || len > buf.length) {
    throw new RangeError(`drive host: ${op} of ${len} bytes does not fit its buffer of ${buf.length}`);
  }
}

/** A channel for one migration worker: the host serves `drives` on one end; transfer `port` to the worker. */
export function openDriveChannel(drives: Iterable<Drive>): { host: DriveHost; port: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  return { host: new DriveHost(drives, port1), port: port2 };
}
