import { describe, expect, it } from 'vitest';
import { FakeDestination, HOST_BASE, linkPair } from '../../../test/rdma-fakes.js';
import { ControlType } from './constants.js';
import { decodeDestBlocks, decodeRegisterResults, encodeCompress, encodeRegisterCommands } from './control-bodies.js';
import { ControlReceiver } from './control-channel.js';
import { decodeControlMessage, encodeControlMessage } from './control-message.js';
import { DestinationRegistrations } from './dest-registrations.js';
import { RdmaProtocolError } from './errors.js';

const MiB = 1 << 20;
const BLOCKS = [{ name: 'pc.ram', offset: 0x1000_0000, length: 3 * MiB }];

/** One message handed to the destination's handler, and what it replied. */
async function handleOne(registrations: DestinationRegistrations, message: Uint8Array): Promise<Uint8Array[]> {
  const [peer, dest] = linkPair();
  await peer.send(message);
  await registrations.handle(decodeControlMessage(await dest.receive()), new ControlReceiver(dest));
  return dest.sent;
}

describe('DestinationRegistrations', () => {
  it('answers REGISTER_REQUEST with the chunk rkey and the block base address; registers a chunk once', async () => {
    const port = new FakeDestination([3 * MiB]);
    const registrations = new DestinationRegistrations(BLOCKS, port, false);
    registrations.noteSourceBlock('pc.ram');
    const request = encodeControlMessage(ControlType.REGISTER_REQUEST, encodeRegisterCommands([{ key: 0x1010_0000, blockIndex: 0, chunks: 1 }]));
    const [reply] = await handleOne(registrations, request);
    const decoded = decodeControlMessage(reply!, ControlType.REGISTER_RESULT);
    const [result] = decodeRegisterResults(decoded.body);
    expect(result!.hostAddr).toBe(HOST_BASE);
    expect(port.registrations.get(result!.rkey)).toEqual({ block: 0, start: MiB, end: 3 * MiB });
    const [again] = await handleOne(registrations, request);
    expect(decodeRegisterResults(decodeControlMessage(again!).body)[0]!.rkey).toBe(result!.rkey);
    expect(port.registrations.size).toBe(1);
  });

  it('answers RAM_BLOCKS_REQUEST in the source order, with rkeys under pin-all', async () => {
    const port = new FakeDestination([MiB, 2 * MiB]);
    const registrations = new DestinationRegistrations(
      [{ name: 'a', offset: 0, length: MiB }, { name: 'b', offset: 0x100000, length: 2 * MiB }], port, true,
    );
    registrations.noteSourceBlock('b');
    registrations.noteSourceBlock('a');
    const [reply] = await handleOne(registrations, encodeControlMessage(ControlType.RAM_BLOCKS_REQUEST));
    const blocks = decodeDestBlocks(decodeControlMessage(reply!, ControlType.RAM_BLOCKS_RESULT).body);
    expect(blocks.map((b) => [b.offset, b.length, b.remoteHostAddr])).toEqual([[0x100000, 2 * MiB, HOST_BASE + 2 ** 32], [0, MiB, HOST_BASE]]);
    expect(blocks.map((b) => port.registrations.get(b.remoteRkey))).toEqual([{ block: 1, start: 0, end: 2 * MiB }, { block: 0, start: 0, end: MiB }]);
  });

  it('COMPRESS zeroes the range; UNREGISTER drops a chunk and answers UNREGISTER_FINISHED', async () => {
    const port = new FakeDestination([3 * MiB]);
    const registrations = new DestinationRegistrations(BLOCKS, port, false);
    await handleOne(registrations, encodeControlMessage(ControlType.COMPRESS, encodeCompress({ value: 0, blockIndex: 0, offset: 0x1020_0000, length: MiB })));
    expect(port.zeroed).toEqual([{ block: 0, offset: 2 * MiB, length: MiB }]);
    await handleOne(registrations, encodeControlMessage(ControlType.REGISTER_REQUEST, encodeRegisterCommands([{ key: 0x1000_0000, blockIndex: 0, chunks: 0 }])));
    expect(registrations.registeredChunks).toBe(1);
    const [reply] = await handleOne(registrations, encodeControlMessage(ControlType.UNREGISTER_REQUEST, encodeRegisterCommands([{ key: 0, blockIndex: 0, chunks: 0 }])));
    expect(decodeControlMessage(reply!).type).toBe(ControlType.UNREGISTER_FINISHED);
    expect(port.unregistered).toEqual([{ block: 0, chunk: 0 }]);
    expect(registrations.registeredChunks).toBe(0);
  });

  it('refuses bad commands in QEMU words, naming the offset', async () => {
    const registrations = new DestinationRegistrations(BLOCKS, new FakeDestination([3 * MiB]), false);
    const refusal = async (message: Uint8Array): Promise<RdmaProtocolError> =>
      (await handleOne(registrations, message).catch((e: unknown) => e)) as RdmaProtocolError;
    const badIndex = await refusal(encodeControlMessage(ControlType.REGISTER_REQUEST, encodeRegisterCommands([{ key: 0, blockIndex: 3, chunks: 0 }])));
    expect(badIndex.message).toBe("rdma: 'register' bad block index 3 (vs 1)");
    expect(badIndex.offset).toBe(24);
    expect((await refusal(encodeControlMessage(ControlType.COMPRESS, encodeCompress({ value: 0, blockIndex: 1, offset: 0, length: 1 })))).message).toBe(
      "rdma: 'compress' bad block index 1 (vs 1)",
    );
    expect((await refusal(encodeControlMessage(ControlType.COMPRESS, encodeCompress({ value: 7, blockIndex: 0, offset: 0x1000_0000, length: 1 })))).message).toBe(
      'rdma: Zero page with non-zero (7) value',
    );
    expect((await refusal(encodeControlMessage(ControlType.COMPRESS, encodeCompress({ value: 0, blockIndex: 0, offset: 0x1020_0000, length: 2 * MiB })))).message).toBe(
      'COMPRESS: 2097152 bytes at 0x10200000 are outside block pc.ram',
    );
    expect((await refusal(encodeControlMessage(ControlType.REGISTER_REQUEST, encodeRegisterCommands([{ key: 0x100, blockIndex: 0, chunks: 0 }])))).message).toBe(
      'rdma: bad register address for block pc.ram offset: 10000000 current_addr: 100',
    );
    expect((await refusal(encodeControlMessage(ControlType.REGISTER_REQUEST, encodeRegisterCommands([{ key: 0x1040_0000, blockIndex: 0, chunks: 0 }])))).message).toBe(
      'REGISTER_REQUEST: chunk 4 (+0) is outside block pc.ram (4 chunks of 1048576)',
    );
    expect((await refusal(encodeControlMessage(ControlType.REGISTER_RESULT, new Uint8Array(16)))).message).toBe(
      'unexpected REGISTER_RESULT control message at the destination',
    );
  });
});
