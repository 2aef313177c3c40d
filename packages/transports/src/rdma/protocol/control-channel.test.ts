import { describe, expect, it } from 'vitest';
import { linkPair } from '../../../test/rdma-fakes.js';
import { ControlType, controlTypeName } from './constants.js';
import { ControlReceiver, ControlSender } from './control-channel.js';
import { decodeControlMessage, encodeControlMessage } from './control-message.js';
import { RdmaPeerError } from './errors.js';
import { QemuFileReader, QemuFileWriter } from './qemu-file-stream.js';

const typesOf = (messages: Uint8Array[]): string[] => messages.map((m) => controlTypeName(decodeControlMessage(m).type));

describe('the lock-step control channel', () => {
  it('the source sends only after READY; a request takes its reply without one', async () => {
    const [source, dest] = linkPair();
    const sender = new ControlSender(source);
    const receiver = new ControlReceiver(dest);
    const sent = sender.send(ControlType.QEMU_FILE, Uint8Array.of(1, 2, 3));
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.sent).toEqual([]); // waiting for READY
    const got = await receiver.receive(ControlType.QEMU_FILE);
    await sent;
    expect(Array.from(got.body)).toEqual([1, 2, 3]);

    const reply = sender.request(ControlType.RAM_BLOCKS_REQUEST, undefined, ControlType.RAM_BLOCKS_RESULT);
    const request = await receiver.receive();
    expect(request.type).toBe(ControlType.RAM_BLOCKS_REQUEST);
    await receiver.reply(ControlType.RAM_BLOCKS_RESULT, new Uint8Array(32));
    expect((await reply).body.byteLength).toBe(32);
    expect(typesOf(dest.sent)).toEqual(['READY', 'READY', 'RAM_BLOCKS_RESULT']);
    expect(typesOf(source.sent)).toEqual(['QEMU_FILE', 'RAM_BLOCKS_REQUEST']);
  });

  it('runs the callback between the request and its reply', async () => {
    const [source, dest] = linkPair();
    const sender = new ControlSender(source);
    const order: string[] = [];
    const reply = sender.request(ControlType.REGISTER_REQUEST, new Uint8Array(24), ControlType.REGISTER_RESULT, 1, () => order.push('meanwhile'));
    const receiver = new ControlReceiver(dest);
    await receiver.receive(ControlType.REGISTER_REQUEST);
    order.push('request arrived');
    await receiver.reply(ControlType.REGISTER_RESULT, new Uint8Array(16));
    await reply;
    expect(order).toEqual(['meanwhile', 'request arrived']);
  });

  it('an ERROR from the peer is an RdmaPeerError naming what this side was doing', async () => {
    const [source, dest] = linkPair();
    const sender = new ControlSender(source);
    await dest.send(encodeControlMessage(ControlType.ERROR));
    await expect(sender.send(ControlType.QEMU_FILE, Uint8Array.of(1))).rejects.toThrow(
      new RdmaPeerError('sending QEMU_FILE'),
    );
    const receiver = new ControlReceiver(dest);
    await source.send(encodeControlMessage(ControlType.ERROR));
    await expect(receiver.receive()).rejects.toThrow('the RDMA peer sent ERROR (it gave up the migration) while waiting for a control message');
  });

  it('a reply of the wrong type is a protocol error', async () => {
    const [source, dest] = linkPair();
    const sender = new ControlSender(source);
    const reply = sender.request(ControlType.REGISTER_REQUEST, new Uint8Array(24), ControlType.REGISTER_RESULT);
    const receiver = new ControlReceiver(dest);
    await receiver.receive();
    await receiver.reply(ControlType.UNREGISTER_FINISHED);
    await expect(reply).rejects.toThrow('expected a REGISTER_RESULT control message, got UNREGISTER_FINISHED (length 0)');
  });
});

describe('the migration stream as QEMU_FILE messages', () => {
  it('cuts writes into messages of at most 32768 bytes and reads them back in order', async () => {
    const [source, dest] = linkPair();
    let flushes = 0;
    const writer = new QemuFileWriter(new ControlSender(source), () => {
      flushes++;
      return undefined;
    });
    const reader = new QemuFileReader(new ControlReceiver(dest));
    const stream = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    const writing = writer.write(stream).then(() => source.disconnect());
    const pieces: Uint8Array[] = [];
    for (let piece = await reader.read(); piece !== null; piece = await reader.read()) pieces.push(piece);
    await writing;
    expect(pieces.map((p) => p.byteLength)).toEqual([32768, 32768, 32768, 1696]);
    expect(Buffer.compare(Buffer.concat(pieces), stream)).toBe(0);
    expect([writer.bytesSent, reader.bytesReceived, flushes]).toEqual([100_000, 100_000, 1]);
  });

  it('a disconnect ends the reader (null); an ERROR fails it', async () => {
    const [source, dest] = linkPair();
    const reader = new QemuFileReader(new ControlReceiver(dest));
    await source.send(encodeControlMessage(ControlType.ERROR));
    await expect(reader.read()).rejects.toThrow(RdmaPeerError);
    source.disconnect();
    expect(await reader.read()).toBeNull();
  });
});
