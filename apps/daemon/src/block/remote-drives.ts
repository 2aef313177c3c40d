// A migration worker's drives: BlockSourceDevice / BlockTargetDevice whose I/O goes to the main thread's
// DriveHost over a MessagePort (given to the worker in its transfer list, with the WorkerDriveInfo list in
// workerData). Buffers must be SharedArrayBuffer-backed (allocateChunkBuffer), so the host fills and reads
// them in place; a source device's dirty bitmap is a view of the drive's own shared bitmap.
import type { MessagePort } from 'node:worker_threads';
import {
  CHUNK_SIZE, CorruptImageError, DiskImageError, UnsupportedFeatureError, type AllocationExtent, type BlockSourceDevice,
  type BlockTargetDevice,
} from '@mig/block';
import { decodeError, DirtyBitmap } from '@mig/core';
import { DriveError } from './drive-error.js';
import type { DriveReply, DriveRequest, WorkerDriveInfo } from './drive-protocol.js';

/** The errors a host sends back, rebuilt as their classes. */
const DRIVE_ERROR_CLASSES = [DiskImageError, UnsupportedFeatureError, CorruptImageError, DriveError];

/** A 1 MiB chunk buffer over a SharedArrayBuffer: BlockSaveSection's / BlockLoader's allocateBuffer. */
export function allocateChunkBuffer(): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(CHUNK_SIZE));
}

interface Pending {
  resolve(reply: DriveReply & { ok: true }): void;
  reject(err: Error): void;
}

/** One port's requests in flight, matched to their replies by id. The port keeps the thread alive only while any is. */
class DriveClient {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #closed = false;

  constructor(private readonly port: MessagePort) {
    port.on('message', (reply: DriveReply) => this.#settle(reply));
    port.on('close', () => this.#fail(new Error(`the drive host closed the channel with ${this.#pending.size} request(s) in flight`)));
    port.unref();
  }

  /** Sends `request` (its id is set here; the object may be reused once this returns). */
  send(request: DriveRequest): Promise<DriveReply & { ok: true }> {
    if (this.#closed) return Promise.reject(new Error(`drive channel closed: cannot ${request.op} drive '${request.drive}'`));
    const id = this.#nextId++;
    request.id = id;
    const done = new Promise<DriveReply & { ok: true }>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (this.#pending.size === 1) this.port.ref();
    this.port.postMessage(request);
    return done;
  }

  #settle(reply: DriveReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.port.unref();
    if (reply.ok) pending.resolve(reply);
    else pending.reject(decodeError(reply.error, DRIVE_ERROR_CLASSES));
  }

  #fail(err: Error): void {
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

const clients = new WeakMap<MessagePort, DriveClient>();

function clientFor(port: MessagePort): DriveClient {
  let client = clients.get(port);
  if (client === undefined) {
    client = new DriveClient(port);
    clients.set(port, client);
  }
  return client;
}

function requireShared(op: string, name: string, buf: Uint8Array, len: number): void {
  if (!(buf.buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(`drive '${name}': ${op} needs a buffer over a SharedArrayBuffer (allocateChunkBuffer), so the main thread can use it in place`);
  }
  if (len > buf.length) throw new RangeError(`drive '${name}': ${op} of ${len} bytes does not fit its buffer of ${buf.length}`);
}

/**
 * The drives `infos` names as migration sources (give the writable ones: QEMU does not migrate read-only
 * drives). Reads and allocation queries go to the host; `dirty` is the drive's shared bitmap.
 */
export function remoteSourceDevices(port: MessagePort, infos: readonly WorkerDriveInfo[]): BlockSourceDevice[] {
  const client = clientFor(port);
  return infos.map((info) => {
    const readRequest = { op: 'read', id: 0, drive: info.name, offset: 0, len: 0, buf: new Uint8Array(0) as Uint8Array } satisfies DriveRequest;
    const allocationRequest = { op: 'allocation', id: 0, drive: info.name, offset: 0, len: 0 } satisfies DriveRequest;
    return {
      name: info.name,
      size: info.size,
      dirty: new DirtyBitmap(Math.ceil(info.size / CHUNK_SIZE), info.dirty, 0, CHUNK_SIZE),
      async read(offset: number, buf: Uint8Array, len: number): Promise<void> {
        requireShared('read', info.name, buf, len);
        readRequest.offset = offset;
        readRequest.len = len;
        readRequest.buf = buf;
        await client.send(readRequest);
      },
      async allocation(offset: number, len: number): Promise<readonly AllocationExtent[]> {
        allocationRequest.offset = offset;
        allocationRequest.len = len;
        return (await client.send(allocationRequest)).extents ?? [];
      },
    };
  });
}

/** The drives `infos` names as an incoming migration's targets; writes go to the host as migration writes. */
export function remoteTargetDevices(port: MessagePort, infos: readonly WorkerDriveInfo[]): BlockTargetDevice[] {
  const client = clientFor(port);
  return infos.map((info) => {
    const writeRequest = { op: 'write', id: 0, drive: info.name, offset: 0, len: 0, buf: new Uint8Array(0) as Uint8Array } satisfies DriveRequest;
    const zeroesRequest = { op: 'writeZeroes', id: 0, drive: info.name, offset: 0, len: 0 } satisfies DriveRequest;
    const flushRequest = { op: 'flush', id: 0, drive: info.name } satisfies DriveRequest;
    return {
      name: info.name,
      size: info.size,
      readOnly: info.readOnly,
      async write(offset: number, buf: Uint8Array, len: number): Promise<void> {
        requireShared('write', info.name, buf, len);
        writeRequest.offset = offset;
        writeRequest.len = len;
        writeRequest.buf = buf;
        await client.send(writeRequest);
      },
      async writeZeroes(offset: number, len: number): Promise<void> {
        zeroesRequest.offset = offset;
        zeroesRequest.len = len;
        await client.send(zeroesRequest);
      },
      async flush(): Promise<void> {
        await client.send(flushRequest);
      },
    };
  });
}
