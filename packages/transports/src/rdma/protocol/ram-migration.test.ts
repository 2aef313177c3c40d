// A whole RAM migration over the RDMA RAM path, no hardware: @mig/ram's RamSaveSection in a SavevmSaver with
// the RDMA save hook, the stream over the lock-step control channel (an in-memory link pair), RDMA WRITEs
// through the fake NIC (a write lands only through a destination registration covering it), and on the
// destination a StreamReader with @mig/ram's RamLoader and the RDMA load hook.
import { describe, expect, it } from 'vitest';
import { createRamBlock, DirtyBitmap, GuestRam, RamLoader, RamSaveSection } from '@mig/ram';
import { SavevmSaver, StreamReader } from '@mig/savevm';
import { FakeDestination, FakeSource, linkPair, type RecordingLink } from '../../../test/rdma-fakes.js';
import { ControlType, controlTypeName } from './constants.js';
import { ControlReceiver, ControlSender } from './control-channel.js';
import { decodeControlMessage } from './control-message.js';
import { DestinationRegistrations } from './dest-registrations.js';
import { QemuFileWriter } from './qemu-file-stream.js';
import { RdmaRamLoadControl } from './ram-load-control.js';
import { RdmaRamSaveControl } from './ram-save-control.js';
import { RdmaStreamReader, RdmaStreamWriter } from './ram-stream.js';
import { RdmaRamWriter } from './ram-writer.js';
import { sourceBlocks } from './source-blocks.js';

const MiB = 1 << 20;
const PAGE = 4096;

interface BlockSpec {
  name: string;
  length: number;
  /** Guest-physical address; 0 by default. */
  gpa?: number;
}

/** Source memory: a pattern, with `zeroRanges` [start, end) cleared. */
function sourceMemory(spec: BlockSpec, zeroRanges: [number, number][]): Uint8Array {
  const bytes = Uint8Array.from({ length: spec.length }, (_, i) => (((i * 7) >>> 5) & 0xff) | 1);
  for (const [start, end] of zeroRanges) bytes.fill(0, start, end);
  return bytes;
}

interface SessionOptions {
  pinAll: boolean;
  blocks: BlockSpec[];
  zero?: Record<string, [number, number][]>;
  xbzrle?: number;
  maxQueuedPages?: number;
}

function session(options: SessionOptions) {
  const [sourceLink, destLink] = linkPair();
  const srcBytes = options.blocks.map((b) => sourceMemory(b, options.zero?.[b.name] ?? []));
  const source = new GuestRam(options.blocks.map((b, i) => createRamBlock(b.name, srcBytes[i]!, b.gpa)));
  // the destination lists its blocks the other way round (the source's order comes from MEM_SIZE)
  const destSpecs = [...options.blocks].reverse();
  const destination = new FakeDestination(destSpecs.map((b) => b.length)); // 0xee everywhere
  const target = new GuestRam(destSpecs.map((b, i) => createRamBlock(b.name, destination.memory[i]!, b.gpa)));
  const nic = new FakeSource(srcBytes, destination, 8);

  const infos = source.blocks.map((b, i) => ({ name: b.idstr, offset: source.firstPage[i]! * PAGE, length: b.usedLength }));
  const sender = new ControlSender(sourceLink);
  const writer = new RdmaRamWriter(sourceBlocks(infos), sender, nic, options.pinAll);
  const saveControl = new RdmaRamSaveControl(writer, options.maxQueuedPages);
  const dirty = source.blocks.map((b) => new DirtyBitmap(b.usedLength / PAGE));
  const section = new RamSaveSection({ ram: source, dirty, control: saveControl, ...(options.xbzrle ? { xbzrle: options.xbzrle } : {}) });
  const saver = new SavevmSaver({ machine: 'none', sections: [section] });
  const stream = new RdmaStreamWriter(new QemuFileWriter(sender), saveControl);

  const destInfos = target.blocks.map((b, i) => ({ name: b.idstr, offset: 0x4000_0000 + target.firstPage[i]! * PAGE, length: b.usedLength }));
  const registrations = new DestinationRegistrations(destInfos, destination, options.pinAll);
  const loadControl = new RdmaRamLoadControl(registrations);
  const loader = new RamLoader({ ram: target, control: loadControl });
  const reader = new StreamReader({ machine: 'none', sections: [loader.section] });
  const streamReader = new RdmaStreamReader(new ControlReceiver(destLink), loadControl);
  const loading = (async () => {
    for (let piece = await streamReader.read(); piece !== null; piece = await streamReader.read()) reader.push(piece);
    reader.end();
  })();
  return { source, srcBytes, target, destination, nic, writer, saveControl, section, saver, stream, dirty, sourceLink, loader, loadControl, reader, loading };
}

type Session = ReturnType<typeof session>;

async function flush(s: Session): Promise<void> {
  for (const chunk of s.saver.drainOutput()) await s.stream.write(chunk);
}

/** setup, rounds of `budget` until nothing is pending (after `between` ran once after the first), complete. */
async function migrate(s: Session, budget: number, between?: () => void): Promise<void> {
  s.saver.setup();
  await flush(s);
  s.saver.syncDirty();
  let first = true;
  while (s.saver.pendingBytes(0) > 0) {
    s.saver.iterate(budget);
    await flush(s);
    if (s.saver.pendingBytes(0) === 0 && first && between) {
      first = false;
      between();
      s.saver.syncDirty();
    }
  }
  s.saver.complete('running');
  await flush(s);
  s.sourceLink.disconnect(); // the stream's end, as the source's cleanup
  await s.loading;
}

function expectSameRam(s: Session): void {
  for (const block of s.source.blocks) {
    expect(Buffer.compare(s.target.find(block.idstr)!.bytes, block.bytes), block.idstr).toBe(0);
  }
  expect(s.reader.complete).toBe(true);
}

const sentTypes = (link: RecordingLink): string[] => link.sent.map((m) => controlTypeName(decodeControlMessage(m).type));
const BLOCKS: BlockSpec[] = [{ name: 'pc.ram', length: 4 * MiB + 3 * PAGE }, { name: 'vga.vram', length: MiB, gpa: 0x1000_0000 }];
const ZERO = { 'pc.ram': [[MiB, 2 * MiB], [3 * MiB + PAGE, 3 * MiB + 5 * PAGE]] as [number, number][], 'vga.vram': [[0, MiB]] as [number, number][] };

describe('a RAM migration over the RDMA RAM path (fake NIC)', () => {
  it.each([false, true])('pin-all %s: every page by RDMA WRITE, no page record in the stream, RAM equal', async (pinAll) => {
    const s = session({ pinAll, blocks: BLOCKS, zero: ZERO });
    await migrate(s, 8 * MiB, () => {
      // the guest writes after the bulk round: a page in a chunk written before, and one in the zero chunk
      s.srcBytes[0]!.fill(0x42, 2 * MiB, 2 * MiB + PAGE);
      s.dirty[0]!.set((2 * MiB) / PAGE);
      s.srcBytes[0]!.fill(0x17, MiB + 8 * PAGE, MiB + 9 * PAGE);
      s.dirty[0]!.set((MiB + 8 * PAGE) / PAGE);
    });
    expectSameRam(s);
    const pages = BLOCKS.reduce((n, b) => n + b.length / PAGE, 0);
    expect(s.section.controlPages).toBe(pages + 2);
    // counted as QEMU 7.2 credits them (acct_update_position): written pages as normal, COMPRESS chunks as
    // duplicate; the stream carried no page record (the destination counts none)
    const zeroPages = pinAll ? 0 : (2 * MiB) / PAGE; // pc.ram's chunk 1 and vga.vram went as COMPRESS
    expect([s.section.normalPages, s.section.zeroPages]).toEqual([pages + 2 - zeroPages, zeroPages]);
    expect(s.section.normalBytes).toBe(s.writer.stats.writtenBytes);
    expect([s.loader.normalPages, s.loader.zeroPages]).toEqual([0, 0]);
    // ram.transferred: the stream's RAM bytes, the written bytes, and the 1 byte control_save_page credits a page
    expect(s.section.transferredBytes).toBe(s.section.ramTransferredBytes + (pages + 2 - zeroPages) * PAGE + pages + 2);
    expect([s.section.controlBytesTaken, s.saver.controlBytesTaken]).toEqual([(pages + 2) * PAGE, (pages + 2) * PAGE]);
    expect(s.saver.controlBytesSent).toBe((pages + 2 - zeroPages) * PAGE);
    // setup, the bulk round, the round with the two pages, complete: one HOOK each
    expect(s.loadControl.hooks).toBe(4);
    if (pinAll) {
      expect(s.writer.stats.zeroSpans).toBe(0); // pin-all writes zero pages too
      expect(s.writer.stats.registrations).toBe(0);
    } else {
      // pc.ram's chunk 1 and vga.vram are all zero at first: COMPRESS; chunk 1 registers when a page turns non-zero
      expect(s.writer.stats.zeroSpans).toBe(2);
      // pc.ram's chunks 0, 2, 3 and its 12 KiB tail chunk, then chunk 1
      expect(s.writer.stats.registrations).toBe(4 + 1);
      expect(s.destination.zeroed.map((z) => z.length)).toEqual([MiB, MiB]);
    }
    expect(s.saveControl.queuedPages).toBe(0);
  });

  it('small budgets: many rounds, each HOOK … REGISTER_FINISHED; the rounds queue while earlier ones are written', async () => {
    const s = session({ pinAll: false, blocks: BLOCKS, zero: ZERO, maxQueuedPages: 300 });
    s.saver.setup();
    s.saver.syncDirty();
    // the precopy loop does not wait for a round to be written: writes are chained, the section asks to wait
    let writing: Promise<void> = Promise.resolve();
    let waits = 0;
    while (s.saver.pendingBytes(0) > 0) {
      s.saver.iterate(64 * PAGE);
      const chunks = s.saver.drainOutput();
      writing = writing.then(async () => {
        for (const chunk of chunks) await s.stream.write(chunk);
      });
      const ready = s.saver.whenReady();
      if (ready !== undefined) {
        waits++;
        await ready;
      }
    }
    s.saver.complete('running');
    const rest = s.saver.drainOutput();
    await writing;
    for (const chunk of rest) await s.stream.write(chunk);
    s.sourceLink.disconnect();
    await s.loading;
    expectSameRam(s);
    expect(waits).toBeGreaterThan(0);
    const rounds = sentTypes(s.sourceLink).filter((t) => t === 'REGISTER_FINISHED').length;
    expect(rounds).toBe(s.loadControl.hooks);
    expect(rounds).toBeGreaterThan(20);
  });

  it('XBZRLE configured: the control path takes every page first, so no XBZRLE record is ever written (QEMU 7.2)', async () => {
    const s = session({ pinAll: false, blocks: BLOCKS, zero: ZERO, xbzrle: 4 * MiB });
    await migrate(s, 8 * MiB, () => {
      s.srcBytes[1]!.fill(0x99, 0, PAGE);
      s.dirty[1]!.set(0);
    });
    expectSameRam(s);
    expect([s.section.xbzrleRecords, s.loader.xbzrlePages, s.section.xbzrleStats?.pages]).toEqual([0, 0, 0]);
  });

  it('without the load hook the destination refuses the HOOK record as before', async () => {
    const [sourceLink] = linkPair();
    const ram = new GuestRam([createRamBlock('pc.ram', new Uint8Array(MiB))]);
    const loader = new RamLoader({ ram });
    const reader = new StreamReader({ machine: 'none', sections: [loader.section] });
    const s = session({ pinAll: false, blocks: [{ name: 'pc.ram', length: MiB }] });
    s.saver.setup();
    const bytes = Buffer.concat(s.saver.drainOutput());
    expect(() => reader.push(bytes)).toThrow('unknown RAM flag(s) 0x80 (HOOK (RDMA): not supported) in 0x80');
    sourceLink.disconnect();
    s.sourceLink.disconnect();
    await expect(s.loading).rejects.toThrow('stream ended after 0 bytes');
  });
});

const be32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const be64 = (n: number): number[] => [...be32(Math.floor(n / 2 ** 32)), ...be32(n >>> 0)];
const text = (s: string): number[] => [...Buffer.from(s, 'latin1')];

describe('where the HOOK records go, byte for byte (QEMU 7.2 ram.c + rdma.c)', () => {
  it('setup, one round and complete: HOOK before EOS in each body, flushed, with the RDMA exchanges after it', async () => {
    const length = MiB + 4 * PAGE;
    const s = session({ pinAll: false, blocks: [{ name: 'pc.ram', length }] });
    await migrate(s, 64 * MiB);
    expectSameRam(s);
    const messages = s.sourceLink.sent.map((m) => decodeControlMessage(m));
    const stream = Buffer.concat(messages.filter((m) => m.type === ControlType.QEMU_FILE).map((m) => m.body));
    // What QEMU 7.2 writes for `-machine none` with only the ram section and a 1 MiB + 16 KiB block over rdma:
    // ram_save_setup: MEM_SIZE and the block list, ram_control_before_iterate(SETUP) = registration_start
    // (be64 RAM_SAVE_FLAG_HOOK), after_iterate(SETUP) (nothing in the stream), EOS. ram_save_iterate and
    // ram_save_complete: before_iterate (HOOK), every page through control_save_page (RAM_SAVE_CONTROL_DELAYED:
    // no page header, no zero-page record — ram_save_target_page tries the control path before save_zero_page),
    // after_iterate (REGISTER_FINISHED on the control channel), EOS.
    const expected = Buffer.from([
      0x51, 0x45, 0x56, 0x4d, ...be32(3), // QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION
      0x07, ...be32(4), ...text('none'), // QEMU_VM_CONFIGURATION
      0x01, ...be32(2), 3, ...text('ram'), ...be32(0), ...be32(4), // SECTION_START ram, instance 0, version 4
      ...be64(length + 0x04), 6, ...text('pc.ram'), ...be64(length), // MEM_SIZE, block list
      ...be64(0x80), // HOOK (setup)
      ...be64(0x10), // EOS
      0x7e, ...be32(2), // footer
      0x02, ...be32(2), ...be64(0x80), ...be64(0x10), 0x7e, ...be32(2), // SECTION_PART: HOOK, EOS
      0x03, ...be32(2), ...be64(0x80), ...be64(0x10), 0x7e, ...be32(2), // SECTION_END: HOOK, EOS
      0x00, // QEMU_VM_EOF
    ]);
    expect(stream.subarray(0, expected.length).toString('hex').match(/.{1,32}/g)).toEqual(expected.toString('hex').match(/.{1,32}/g));
    expect(stream[expected.length]).toBe(0x06); // the VMDESCRIPTION follows
    // the control channel: each HOOK is the last stream byte before its round's messages (registration_start
    // flushes it), and nothing of the stream goes before REGISTER_FINISHED
    const hookEnds = [...stream.keys()].filter((i) => i >= 7 && stream.readBigUInt64BE(i - 7) === 0x80n).map((i) => i + 1);
    expect(hookEnds).toHaveLength(3);
    const typesAfter: string[][] = [];
    let at = 0;
    let round: string[] | undefined;
    for (const m of messages) {
      if (m.type === ControlType.QEMU_FILE) {
        if (round !== undefined) typesAfter.push(round);
        round = undefined;
        at += m.body.byteLength;
        continue;
      }
      if (round === undefined) {
        expect(hookEnds).toContain(at);
        round = [];
      }
      round.push(controlTypeName(m.type));
    }
    expect(typesAfter).toEqual([
      ['RAM_BLOCKS_REQUEST', 'REGISTER_FINISHED'], // setup
      ['REGISTER_REQUEST', 'REGISTER_REQUEST', 'REGISTER_FINISHED'], // the round: chunk 0, then the 16 KiB tail chunk
      ['REGISTER_FINISHED'], // complete: nothing was dirty
    ]);
  });
});
