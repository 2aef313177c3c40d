// The RAM data path end to end, no hardware: RdmaRamWriter on the source, DestinationRegistrations on the
// destination, a control link pair between them and fake ports whose RDMA WRITEs land only through the
// destination's registrations.
import { describe, expect, it } from 'vitest';
import { FakeDestination, FakeSource, HOST_BASE, linkPair } from '../../../test/rdma-fakes.js';
import { controlTypeName } from './constants.js';
import { ControlReceiver, ControlSender } from './control-channel.js';
import { decodeControlMessage } from './control-message.js';
import { DestinationRegistrations } from './dest-registrations.js';
import { RdmaRamWriter } from './ram-writer.js';
import { sourceBlocks, type RamBlockInfo } from './source-blocks.js';

const MiB = 1 << 20;
const PAGE = 4096;

/** Source blocks: pc.ram 4 MiB + 8 KiB at offset 0, vga.vram 1 MiB at 0x10000000. */
const SOURCE_BLOCKS: RamBlockInfo[] = [
  { name: 'pc.ram', offset: 0, length: 4 * MiB + 2 * PAGE },
  { name: 'vga.vram', offset: 0x1000_0000, length: MiB },
];
/** The destination lists them the other way round, at other offsets. */
const DEST_BLOCKS: RamBlockInfo[] = [
  { name: 'vga.vram', offset: 0x2000_0000, length: MiB },
  { name: 'pc.ram', offset: 0x4000_0000, length: 4 * MiB + 2 * PAGE },
];

/** Guest memory: chunk 1 of pc.ram all zero, the rest a pattern; vga.vram all zero but one page. */
function guestMemory(): Uint8Array[] {
  const ram = Uint8Array.from({ length: SOURCE_BLOCKS[0]!.length }, (_, i) => ((i * 31) >>> 3) & 0xff | 1);
  ram.fill(0, MiB, 2 * MiB);
  const vram = new Uint8Array(MiB);
  vram.fill(0x5a, 3 * PAGE, 4 * PAGE);
  return [ram, vram];
}

type Pages = [block: number, offset: number][];
const allPages = (): Pages => SOURCE_BLOCKS.flatMap((info, b) => Array.from({ length: info.length / PAGE }, (_, i): [number, number] => [b, i * PAGE]));

/** A source and a destination connected; `iteration` runs one RAM iteration on both sides (HOOK … REGISTER_FINISHED). */
function session(pinAll: boolean, queueDepth = 4) {
  const [sourceLink, destLink] = linkPair();
  const destination = new FakeDestination(DEST_BLOCKS.map((b) => b.length));
  const source = new FakeSource(guestMemory(), destination, queueDepth);
  const blocks = sourceBlocks(SOURCE_BLOCKS);
  const writer = new RdmaRamWriter(blocks, new ControlSender(sourceLink), source, pinAll);
  const registrations = new DestinationRegistrations(DEST_BLOCKS, destination, pinAll);
  for (const block of SOURCE_BLOCKS) registrations.noteSourceBlock(block.name); // the stream's block list
  const receiver = new ControlReceiver(destLink);
  const iteration = async (setup: boolean, pages: Pages): Promise<void> => {
    const sourceSide = async (): Promise<void> => {
      for (const [block, offset] of pages) await writer.addPage(block, offset, PAGE);
      await writer.finishIteration(setup);
    };
    await Promise.all([sourceSide(), registrations.handleUntilFinished(receiver)]);
  };
  const sentTypes = (): string[] => sourceLink.sent.map((m) => controlTypeName(decodeControlMessage(m).type));
  return { source, destination, writer, registrations, blocks, iteration, sentTypes, sourceLink, destLink, receiver };
}

const sameMemory = (source: FakeSource, destination: FakeDestination): void => {
  expect(Buffer.compare(destination.memory[1]!, source.memory[0]!), 'pc.ram').toBe(0);
  expect(Buffer.compare(destination.memory[0]!, source.memory[1]!), 'vga.vram').toBe(0);
};

describe('the RDMA RAM path, on-demand registration', () => {
  it('lands every page in the destination memory; a zero chunk goes as COMPRESS', async () => {
    const s = session(false);
    await s.iteration(true, []);
    await s.iteration(false, allPages());
    sameMemory(s.source, s.destination);
    // pages merge into one span per chunk: pc.ram's chunks 0, 2, 3 and its 8 KiB tail, and vga.vram's one
    // chunk (not all zero) are registered and written; pc.ram's chunk 1 is zero: COMPRESS, never registered
    expect(s.writer.stats).toEqual({ writes: 5, writtenBytes: 4 * MiB + 2 * PAGE, zeroSpans: 1, zeroBytes: MiB, registrations: 5 });
    expect(s.registrations.registeredChunks).toBe(5);
    expect(s.destination.zeroed).toEqual([{ block: 1, offset: MiB, length: MiB }]);
    expect(s.writer.outstanding).toBe(0);
    expect(s.blocks[0]!.destOffset).toBe(0x4000_0000);
    expect(s.blocks[1]!.remoteHostAddr).toBe(HOST_BASE); // vga.vram is the destination's local block 0
    expect(s.sentTypes().slice(0, 3)).toEqual(['RAM_BLOCKS_REQUEST', 'REGISTER_FINISHED', 'REGISTER_REQUEST']);
    expect(s.sentTypes().at(-1)).toBe('REGISTER_FINISHED');
  });

  it('a later iteration writes into chunks registered before without asking again; a zero chunk that was compressed registers when it turns non-zero', async () => {
    const s = session(false);
    await s.iteration(true, []);
    await s.iteration(false, allPages());
    s.source.memory[0]!.fill(0x77, 2 * MiB, 2 * MiB + PAGE);
    s.source.memory[0]!.fill(0x33, MiB + PAGE, MiB + 2 * PAGE);
    const before = s.sentTypes().length;
    await s.iteration(false, [[0, 2 * MiB], [0, MiB + PAGE]]);
    sameMemory(s.source, s.destination);
    expect(s.sentTypes().slice(before)).toEqual(['REGISTER_REQUEST', 'REGISTER_FINISHED']);
    expect(s.writer.stats.registrations).toBe(6);
  });

  it('waits for a chunk still in flight, and for room in a full send queue', async () => {
    const s = session(false, 1);
    await s.iteration(true, []);
    s.source.refuseNextPosts(2);
    await s.iteration(false, allPages());
    sameMemory(s.source, s.destination);
    expect(s.source.inFlight).toBe(0);
    // re-writing the same chunk twice in one iteration: the second waits for the first's completion
    s.source.memory[1]!.fill(1, 0, PAGE);
    await s.iteration(false, [[1, 0], [1, 2 * PAGE]]);
    sameMemory(s.source, s.destination);
  });

  it('a send queue that is full with nothing in flight is an error, not a wait', async () => {
    const s = session(false, 1);
    await s.iteration(true, []);
    s.source.refuseNextPosts(1);
    s.source.refuseWhenIdle = true;
    const handling = s.registrations.handleUntilFinished(s.receiver).catch((e: unknown) => e);
    await expect((async () => {
      for (let offset = 0; offset <= MiB; offset += PAGE) await s.writer.addPage(0, offset, PAGE);
    })()).rejects.toThrow('RDMA WRITE of 1048576 bytes at 0 of block pc.ram: the send queue is full with no write in flight');
    s.sourceLink.disconnect();
    await handling;
  });

  it('refuses a page outside its block', async () => {
    const s = session(false);
    expect(() => s.writer.addPage(1, MiB, PAGE)).toThrow('RDMA page write: 4096 bytes at 1048576 are outside block vga.vram (1048576 bytes)');
    expect(() => s.writer.addPage(2, 0, PAGE)).toThrow('RDMA page write: no RAM block 2 (there are 2)');
  });
});

describe('the RDMA RAM path with pin-all', () => {
  it('registers every block whole on both sides at setup and writes with the block rkeys', async () => {
    const s = session(true);
    await s.iteration(true, []);
    expect(s.destination.registrations.size).toBe(2);
    expect(s.source.localRegistrations).toEqual([
      { block: 0, start: 0, end: 4 * MiB + 2 * PAGE }, { block: 1, start: 0, end: MiB },
    ]);
    await s.iteration(false, allPages());
    sameMemory(s.source, s.destination);
    // no REGISTER_REQUEST, no COMPRESS: every chunk is written, zero or not
    expect(s.writer.stats).toEqual({ writes: 6, writtenBytes: 5 * MiB + 2 * PAGE, zeroSpans: 0, zeroBytes: 0, registrations: 0 });
    expect(new Set(s.sentTypes())).toEqual(new Set(['RAM_BLOCKS_REQUEST', 'REGISTER_FINISHED']));
  });
});

describe('a destination whose blocks do not match', () => {
  it('the source refuses another block count or length, in QEMU words', async () => {
    const [sourceLink, destLink] = linkPair();
    const destination = new FakeDestination([MiB]);
    const registrations = new DestinationRegistrations([{ name: 'pc.ram', offset: 0, length: MiB }], destination, false);
    const writer = new RdmaRamWriter(sourceBlocks(SOURCE_BLOCKS), new ControlSender(sourceLink), new FakeSource(guestMemory(), destination), false);
    const handling = registrations.handleUntilFinished(new ControlReceiver(destLink));
    await expect(writer.finishIteration(true)).rejects.toThrow(
      'ram blocks mismatch (Number of blocks 2 vs 1) Your QEMU command line parameters are probably not identical on both the source and destination.',
    );
    sourceLink.disconnect();
    await expect(handling).rejects.toThrow('disconnected');

    const [a, b] = linkPair();
    const other = new DestinationRegistrations([{ name: 'pc.ram', offset: 0, length: 2 * MiB }, { name: 'vga.vram', offset: 0, length: MiB }], destination, false);
    const writer2 = new RdmaRamWriter(sourceBlocks(SOURCE_BLOCKS), new ControlSender(a), new FakeSource(guestMemory(), destination), false);
    void other.handleUntilFinished(new ControlReceiver(b)).catch(() => undefined);
    await expect(writer2.finishIteration(true)).rejects.toThrow('Block pc.ram/0 has a different length 4202496 vs 2097152');
    a.disconnect();
  });

  it('the destination refuses a block the source names that it does not have', () => {
    const registrations = new DestinationRegistrations(DEST_BLOCKS, new FakeDestination([MiB, MiB]), false);
    expect(() => registrations.noteSourceBlock('pc.bios')).toThrow("RAMBlock 'pc.bios' not found on destination");
  });
});
