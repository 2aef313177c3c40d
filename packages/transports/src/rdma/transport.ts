import { Readable, Writable } from 'node:stream';
import { TransportError } from '../errors.js';
import { DEFAULT_HIGH_WATER_MARK, WritableSink } from '../sink.js';
import { ReadableSource } from '../source.js';
import type { MigrationUri, TransportListener } from '../types.js';
import { describeUri } from '../uri.js';
import { ControlReceiver, ControlSender } from './protocol/control-channel.js';
import { QemuFileReader, QemuFileWriter } from './protocol/qemu-file-stream.js';
import { connectRdma, RdmaListener, type RdmaConnection } from './verbs/connection.js';
import { requireRdmaDevice } from './verbs/devices.js';

type RdmaUri = Extract<MigrationUri, { kind: 'rdma' }>;

/**
 * `rdma:HOST:PORT` as a byte stream: the migration stream travels as QEMU_FILE control messages (the
 * lock-step READY/SEND of QEMU's protocol); RAM pages go in the stream too, as on every other transport —
 * mig's RAM section does not use the RDMA WRITE path (protocol/ram-writer.ts) yet. Opening fails at once,
 * naming the URI, where the machine has no RDMA device.
 */

function wrap(endpoint: string, what: string, err: unknown): TransportError {
  if (err instanceof TransportError) return err;
  return new TransportError(`${what} ${endpoint}: ${(err as Error).message}`, { endpoint, cause: err });
}

const hostOf = (uri: RdmaUri): string => (uri.host === '' || uri.host === '0' ? '0.0.0.0' : uri.host);

export async function openRdmaOutgoing(uri: RdmaUri, pinAll = false): Promise<WritableSink> {
  const endpoint = describeUri(uri);
  requireRdmaDevice(endpoint);
  let connection: RdmaConnection;
  try {
    connection = await connectRdma(hostOf(uri), uri.port, pinAll);
  } catch (err) {
    throw wrap(endpoint, 'cannot connect the migration stream to', err);
  }
  const writer = new QemuFileWriter(new ControlSender(connection.link));
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
  return new WritableSink(stream, { endpoint, release: () => void connection.close(failed || !stream.writableFinished) });
}

class RdmaIncomingListener implements TransportListener {
  readonly address: string;
  readonly #listener: RdmaListener;
  #accepted = false;

  constructor(listener: RdmaListener, address: string) {
    this.#listener = listener;
    this.address = address;
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
    const reader = new QemuFileReader(new ControlReceiver(connection.link));
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
    return new ReadableSource(stream, { endpoint: this.address, release: () => void connection.close(failed) });
  }

  async close(): Promise<void> {
    if (!this.#accepted) this.#listener.closeAll();
  }
}

export async function listenRdmaIncoming(uri: RdmaUri): Promise<TransportListener> {
  const endpoint = describeUri(uri);
  requireRdmaDevice(endpoint);
  try {
    return new RdmaIncomingListener(RdmaListener.listen(hostOf(uri), uri.port), endpoint);
  } catch (err) {
    throw wrap(endpoint, 'cannot listen for the migration stream on', err);
  }
}
