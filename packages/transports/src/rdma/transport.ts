import { Readable, Writable } from 'node:stream';
import { TransportError } from '../errors.js';
import { DEFAULT_HIGH_WATER_MARK, WritableSink } from '../sink.js';
import { ReadableSource } from '../source.js';
import type { MigrationUri, TransportListener, TransportRamBlock } from '../types.js';
import { describeUri } from '../uri.js';
import { ControlReceiver, ControlSender } from './protocol/control-channel.js';
import { QemuFileReader, QemuFileWriter } from './protocol/qemu-file-stream.js';
import { destinationRamPath, sourceRamPath } from './ram-path.js';
import { connectRdma, RdmaListener, type RdmaConnection } from './verbs/connection.js';
import { requireRdmaDevice } from './verbs/devices.js';

type RdmaUri = Extract<MigrationUri, { kind: 'rdma' }>;

/**
 * `rdma:HOST:PORT` as a byte stream: the migration stream travels as QEMU_FILE control messages (the
 * lock-step READY/SEND of QEMU's protocol). Given the guest's RAM blocks (`TransportContext.ram`), RAM
 * goes by RDMA WRITE: the sink and source carry the `ramControl` hook for @mig/ram, and registration rounds
 * run at their HOOK records. Without them, pages go in the stream. Opening fails at once, naming the URI,
 * where the machine has no RDMA device.
 */

function wrap(endpoint: string, what: string, err: unknown): TransportError {
  if (err instanceof TransportError) return err;
  return new TransportError(`${what} ${endpoint}: ${(err as Error).message}`, { endpoint, cause: err });
}

const hostOf = (uri: RdmaUri): string => (uri.host === '' || uri.host === '0' ? '0.0.0.0' : uri.host);

export async function openRdmaOutgoing(uri: RdmaUri, pinAll = false, ram?: readonly TransportRamBlock[]): Promise<WritableSink> {
  const endpoint = describeUri(uri);
  requireRdmaDevice(endpoint);
  let connection: RdmaConnection;
  try {
    connection = await connectRdma(hostOf(uri), uri.port, pinAll);
  } catch (err) {
    throw wrap(endpoint, 'cannot connect the migration stream to', err);
  }
  const sender = new ControlSender(connection.link);
  const path = ram === undefined ? undefined : sourceRamPath(connection, sender, ram);
  const writer = path?.stream ?? new QemuFileWriter(sender);
  let failed = false;
  const stream = new Writable({
    highWaterMark: DEFAULT_HIGH_WATER_MARK,
    write: (chunk: Uint8Array, _encoding, done) => {
      writer.write(chunk).then(() => done(), (err: unknown) => {
        failed = true;
        done(wrap(endpoint, 'migration stream write to', err));
      });
    },
    final: (done) => done(),
  });
  const release = (): void => {
    path?.control.fail(new TransportError(`${endpoint}: the migration stream was closed`, { endpoint }));
    void connection.close(failed || !stream.writableFinished);
  };
  return new WritableSink(stream, { endpoint, release, ...(path ? { ramControl: path.control } : {}) });
}

class RdmaIncomingListener implements TransportListener {
  readonly address: string;
  readonly #listener: RdmaListener;
  readonly #ram: readonly TransportRamBlock[] | undefined;
  #accepted = false;

  constructor(listener: RdmaListener, address: string, ram: readonly TransportRamBlock[] | undefined) {
    this.#listener = listener;
    this.address = address;
    this.#ram = ram;
  }

  async accept(): Promise<ReadableSource> {
    if (this.#accepted) throw new TransportError(`the listener on ${this.address} already accepted its one connection`, { endpoint: this.address });
    this.#accepted = true;
    let connection: RdmaConnection;
    try {
      connection = await this.#listener.accept();
    } catch (err) {
      this.#listener.closeAll();
      throw wrap(this.address, 'cannot accept the migration stream on', err);
    }
    this.#listener.close(); // one connection, as QEMU
    const receiver = new ControlReceiver(connection.link);
    const path = this.#ram === undefined ? undefined : destinationRamPath(connection, receiver, this.#ram);
    const reader = path?.reader ?? new QemuFileReader(receiver);
    let failed = false;
    const stream = new Readable({
      highWaterMark: DEFAULT_HIGH_WATER_MARK,
      read() {
        reader.read().then((piece) => this.push(piece), (err: unknown) => {
          failed = true;
          this.destroy(err as Error);
        });
      },
    });
    const release = (): void => {
      path?.control.fail(new TransportError(`${this.address}: the migration stream was closed`, { endpoint: this.address }));
      void connection.close(failed);
    };
    return new ReadableSource(stream, { endpoint: this.address, release, ...(path ? { ramControl: path.control } : {}) });
  }

  async close(): Promise<void> {
    if (!this.#accepted) this.#listener.closeAll();
  }
}

export async function listenRdmaIncoming(uri: RdmaUri, ram?: readonly TransportRamBlock[]): Promise<TransportListener> {
  const endpoint = describeUri(uri);
  requireRdmaDevice(endpoint);
  try {
    return new RdmaIncomingListener(RdmaListener.listen(hostOf(uri), uri.port), endpoint, ram);
  } catch (err) {
    throw wrap(endpoint, 'cannot listen for the migration stream on', err);
  }
}
