// Runs only where an RDMA device exists (real hardware, or soft-RoCE: `modprobe rdma_rxe` and
// `rdma link add rxe0 type rxe netdev eth0`): a mig → mig byte stream over rdma:ADDRESS:PORT, where
// ADDRESS is MIG_RDMA_ADDRESS or the IPv4 address of the first RDMA device's network interface.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createRamBlock, DirtyBitmap, GuestRam, RamLoader, RamSaveSection } from '@mig/ram';
import { SavevmSaver, StreamReader } from '@mig/savevm';
import { listenIncoming, openOutgoing } from '../open.js';
import { parseMigrationUri } from '../uri.js';
import { ControlReceiver, ControlSender } from './protocol/control-channel.js';
import { DestinationRegistrations } from './protocol/dest-registrations.js';
import { RdmaRamWriter } from './protocol/ram-writer.js';
import { sourceBlocks } from './protocol/source-blocks.js';
import { connectRdma, RdmaListener } from './verbs/connection.js';
import { hasRdmaDevice, listRdmaDevices } from './verbs/devices.js';
import { VerbsRegisterPort, VerbsWritePort } from './verbs/ram-ports.js';

const present = hasRdmaDevice();

/** The IPv4 address of the netdev behind the first device's port 1 (rxe0 → eth0 → 10.x.y.z). */
function deviceAddress(): string {
  if (process.env.MIG_RDMA_ADDRESS) return process.env.MIG_RDMA_ADDRESS;
  const device = listRdmaDevices().devices[0]!;
  const ndevs = `/sys/class/infiniband/${device}/ports/1/gid_attrs/ndevs`;
  for (const entry of readdirSync(ndevs)) {
    let netdev: string;
    try {
      netdev = readFileSync(`${ndevs}/${entry}`, 'utf8').trim();
    } catch {
      continue; // an unused gid slot reads as EINVAL
    }
    const v4 = networkInterfaces()[netdev]?.find((a) => a.family === 'IPv4');
    if (v4 !== undefined) return v4.address;
  }
  throw new Error(`no IPv4 address found for RDMA device ${device}: set MIG_RDMA_ADDRESS`);
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(!present)('rdma: over a real RDMA device (needs a device or soft-RoCE: rdma link add rxe0 type rxe netdev eth0)', () => {
  it('carries 64 MiB mig → mig as QEMU_FILE messages, in order, then ends', async () => {
    const uri = parseMigrationUri(`rdma:${deviceAddress()}:${40000 + (process.pid % 20000)}`);
    const listener = await listenIncoming(uri);
    const data = randomBytes(64 << 20);
    const received = (async () => {
      const source = await listener.accept();
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }
      return { bytes, hash: hash.digest('hex') };
    })();
    const sink = await openOutgoing(uri);
    for (let at = 0; at < data.byteLength; at += 1 << 20) await sink.write(data.subarray(at, at + (1 << 20)));
    await sink.end();
    expect(await received).toEqual({ bytes: data.byteLength, hash: sha(data) });
    await listener.close();
  }, 120_000);

  it.each([false, true])('the RAM path (pin-all %s): pages go by RDMA WRITE into the destination memory', async (pinAll) => {
    const MiB = 1 << 20;
    const blocks = [{ name: 'pc.ram', offset: 0, length: 8 * MiB }, { name: 'vga.vram', offset: 0x1000_0000, length: MiB }];
    const sourceMemory = blocks.map((b) => new Uint8Array(new SharedArrayBuffer(b.length)));
    sourceMemory[0]!.set(randomBytes(4 * MiB), 0); // chunks 0-3 random, 4-7 zero
    sourceMemory[1]!.fill(0x5a, 0, 4096);
    const destMemory = blocks.map((b) => new Uint8Array(new SharedArrayBuffer(b.length)).fill(0xee));
    const address = deviceAddress();
    const port = 40000 + ((process.pid + (pinAll ? 1 : 2)) % 20000);
    const listener = RdmaListener.listen(address, port);
    const accepting = listener.accept();
    const source = await connectRdma(address, port, pinAll);
    const dest = await accepting;
    listener.close();
    try {
      expect([source.pinAll, dest.pinAll]).toEqual([pinAll, pinAll]);
      const writer = new RdmaRamWriter(sourceBlocks(blocks), new ControlSender(source.link), new VerbsWritePort(source, sourceMemory), pinAll);
      const registrations = new DestinationRegistrations(blocks, new VerbsRegisterPort(dest, destMemory), pinAll);
      for (const b of blocks) registrations.noteSourceBlock(b.name);
      const receiver = new ControlReceiver(dest.link);
      const sourceSide = async (): Promise<void> => {
        await writer.finishIteration(true);
        for (const [b, info] of blocks.entries()) {
          for (let offset = 0; offset < info.length; offset += 4096) await writer.addPage(b, offset, 4096);
        }
        await writer.finishIteration(false);
      };
      await Promise.all([sourceSide(), registrations.handleUntilFinished(receiver).then(() => registrations.handleUntilFinished(receiver))]);
      expect(sha(destMemory[0]!)).toBe(sha(sourceMemory[0]!));
      expect(sha(destMemory[1]!)).toBe(sha(sourceMemory[1]!));
      if (!pinAll) expect(writer.stats.zeroSpans).toBe(4);
    } finally {
      await source.close();
      await dest.close();
    }
  }, 120_000);

  it.each([false, true])('the daemon workers\' path (pin-all %s): openOutgoing / listenIncoming with the RAM blocks, ram section and loader on the hooks', async (pinAll) => {
    const MiB = 1 << 20;
    const specs = [{ name: 'pc.ram', length: 8 * MiB }, { name: 'vga.vram', length: MiB }];
    const memory = (fill: number) => specs.map((b) => new Uint8Array(new SharedArrayBuffer(b.length)).fill(fill));
    const sourceBytes = memory(0);
    sourceBytes[0]!.set(randomBytes(4 * MiB), 0);
    sourceBytes[1]!.fill(0x5a, 0, 4096);
    const source = new GuestRam(specs.map((b, i) => createRamBlock(b.name, sourceBytes[i]!, i * 0x1000_0000)));
    const target = new GuestRam(specs.map((b, i) => createRamBlock(b.name, memory(0xee)[i]!, i * 0x1000_0000)));
    // what apps/daemon's worker-ram.ts transportRam() hands the transport
    const ramOf = (ram: GuestRam) => ram.blocks.map((b, i) => ({ name: b.idstr, offset: ram.firstPage[i]! * 4096, bytes: b.bytes }));
    const uri = parseMigrationUri(`rdma:${deviceAddress()}:${40000 + ((process.pid + (pinAll ? 3 : 4)) % 20000)}`);
    const listener = await listenIncoming(uri, { ram: ramOf(target) });
    const loaded = (async () => {
      const stream = await listener.accept();
      const loader = new RamLoader({ ram: target, ...(stream.ramControl ? { control: stream.ramControl } : {}) });
      const reader = new StreamReader({ machine: 'none', sections: [loader.section] });
      for await (const chunk of stream) reader.push(chunk);
      reader.end();
      return loader;
    })();
    const sink = await openOutgoing(uri, { rdmaPinAll: pinAll, ram: ramOf(source) });
    expect(sink.ramControl).toBeDefined();
    const dirty = source.blocks.map((b) => new DirtyBitmap(b.usedLength / 4096));
    const section = new RamSaveSection({ ram: source, dirty, control: sink.ramControl! });
    const saver = new SavevmSaver({ machine: 'none', sections: [section] });
    const flush = async (): Promise<void> => {
      for (const chunk of saver.drainOutput()) await sink.write(chunk);
    };
    saver.setup();
    await flush();
    saver.syncDirty();
    while (saver.pendingBytes(0) > 0) {
      saver.iterate(4 * MiB);
      await flush();
      const ready = saver.whenReady();
      if (ready) await ready;
    }
    saver.complete('running');
    await flush();
    await sink.end();
    const loader = await loaded;
    expect([loader.normalPages, loader.zeroPages]).toEqual([0, 0]); // every page came by RDMA WRITE
    for (const block of source.blocks) expect(sha(target.find(block.idstr)!.bytes), block.idstr).toBe(sha(block.bytes));
    await listener.close();
  }, 120_000);

  it('a port nobody listens on fails with a TransportError, not a hang', async () => {
    const uri = parseMigrationUri(`rdma:${deviceAddress()}:1`);
    await expect(openOutgoing(uri)).rejects.toThrow(/^cannot connect the migration stream to rdma:/);
  }, 60_000);
});
