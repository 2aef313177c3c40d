// The precopy loop (@mig/core's runPrecopy) over the RDMA RAM path, no hardware: the ram section's pages go
// by RDMA WRITE through the fake NIC, the stream through a WritableSink as the rdma transport builds it. Time
// is an injected clock that moves only when the loop sleeps (a sleep also lets the link's I/O run), so the rate
// limit and the bandwidth are checked on that clock, never on real time.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createStats, defaultParameters, qemuConvergence, runPrecopy, type ConvergenceRule } from '@mig/core';
import { createRamBlock, DirtyBitmap, GuestRam, RamLoader, RamSaveSection } from '@mig/ram';
import { SavevmSaver, StreamReader } from '@mig/savevm';
import { FakeDestination, FakeSource, linkPair } from '../../../test/rdma-fakes.js';
import { WritableSink } from '../../sink.js';
import { ControlReceiver, ControlSender } from './control-channel.js';
import { DestinationRegistrations } from './dest-registrations.js';
import { QemuFileWriter } from './qemu-file-stream.js';
import { RdmaRamLoadControl } from './ram-load-control.js';
import { RdmaRamSaveControl } from './ram-save-control.js';
import { RdmaStreamReader, RdmaStreamWriter } from './ram-stream.js';
import { RdmaRamWriter } from './ram-writer.js';
import { sourceBlocks } from './source-blocks.js';

const MiB = 1 << 20;
const PAGE = 4096;
const RAM_BYTES = 32 * MiB;
// bytes/s: a 100 ms slot carries 1.6 MiB, the switchover threshold is 4.8 MiB at 300 ms downtime-limit
const MAX_BANDWIDTH = 16 * MiB;
const SLOT_LIMIT = MAX_BANDWIDTH / 10;

/** One source and destination over the in-memory link and the fake NIC, on demand (no pin-all). */
function rdmaMigration() {
  const [sourceLink, destLink] = linkPair();
  const srcBytes = Uint8Array.from({ length: RAM_BYTES }, (_, i) => ((i >>> 9) & 0xff) | 1);
  const source = new GuestRam([createRamBlock('pc.ram', srcBytes)]);
  const destination = new FakeDestination([RAM_BYTES]);
  const target = new GuestRam([createRamBlock('pc.ram', destination.memory[0]!)]);
  const sender = new ControlSender(sourceLink);
  const writer = new RdmaRamWriter(sourceBlocks([{ name: 'pc.ram', offset: 0, length: RAM_BYTES }]), sender, new FakeSource([srcBytes], destination, 8), false);
  const control = new RdmaRamSaveControl(writer, 1024);
  const dirty = new DirtyBitmap(RAM_BYTES / PAGE);
  const section = new RamSaveSection({ ram: source, dirty, control });
  const saver = new SavevmSaver({ machine: 'none', sections: [section] });
  // the sink as openRdmaOutgoing builds it: stream bytes as QEMU_FILE, each round's RDMA work at its HOOK
  const stream = new RdmaStreamWriter(new QemuFileWriter(sender), control);
  const writable = new Writable({
    write: (chunk: Uint8Array, _encoding, done) => void stream.write(chunk).then(() => done(), done),
    final: (done) => done(),
  });
  const sink = new WritableSink(writable, { endpoint: 'rdma:fake:1', release: () => sourceLink.disconnect(), ramControl: control });

  const loadControl = new RdmaRamLoadControl(new DestinationRegistrations([{ name: 'pc.ram', offset: 0x4000_0000, length: RAM_BYTES }], destination, false));
  const loader = new RamLoader({ ram: target, control: loadControl });
  const reader = new StreamReader({ machine: 'none', sections: [loader.section] });
  const streamReader = new RdmaStreamReader(new ControlReceiver(destLink), loadControl);
  const loading = (async () => {
    for (let piece = await streamReader.read(); piece !== null; piece = await streamReader.read()) reader.push(piece);
    reader.end();
  })();
  return { srcBytes, source, target, dirty, section, saver, sink, writer, reader, loading };
}

/**
 * The injected clock with a guest that writes `pagesPerSlot` pages of a hot set every 100 ms of it. A sleep
 * moves the clock and lets the link's I/O run for a turn of the event loop.
 */
function guestClock(m: ReturnType<typeof rdmaMigration>, pagesPerSlot: number) {
  let t = 0;
  let written = 0;
  let stopped = false;
  const hotPages = 512; // the first 2 MiB
  const write = (until: number): void => {
    for (; !stopped && written < Math.floor(until / 100) * pagesPerSlot; written++) {
      const page = (written * 7) % hotPages;
      m.srcBytes[page * PAGE] = (m.srcBytes[page * PAGE]! + 1) | 1;
      m.dirty.set(page);
    }
  };
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += Math.max(0, ms);
      write(t);
      await new Promise((resolve) => setImmediate(resolve));
    },
    stopGuest: () => {
      stopped = true;
      return 'running';
    },
  };
}

/** qemuConvergence, but a run that has not converged in 60 s of the clock fails at once instead of running on. */
const convergeWithin60s: ConvergenceRule = (input) => {
  if (input.elapsedMs > 60_000) throw new Error(`not converged after ${input.elapsedMs} ms: pending ${input.pendingBytes}, threshold ${input.thresholdBytes}`);
  return qemuConvergence(input);
};

describe('the precopy loop over the RDMA RAM path (fake NIC, injected clock)', () => {
  it('counts RDMA-written pages: the rate limit holds, the bandwidth sees them, a writing guest converges', async () => {
    const m = rdmaMigration();
    const clock = guestClock(m, 32); // 1.25 MiB/s of a 2 MiB hot set
    const stats = createStats();
    const slotBytes: number[] = [];
    let slotStart = 0;
    const bandwidths: number[] = [];
    let beforeSwitchover = { bytes: 0, t: 0 };
    const result = await runPrecopy({
      saver: m.saver, sink: m.sink, stats,
      params: { ...defaultParameters(), 'max-bandwidth': MAX_BANDWIDTH, 'downtime-limit': 300 },
      now: clock.now,
      sleep: async (ms) => {
        // the loop sleeps 0 right after each slot end: what the slot used (stream bytes and pages taken)
        if (ms === 0) {
          const used = m.saver.streamBytes + m.saver.controlBytesTaken;
          slotBytes.push(used - slotStart);
          slotStart = used;
        }
        await clock.sleep(ms);
      },
      stopGuest: () => {
        beforeSwitchover = { bytes: m.saver.streamBytes + m.saver.controlBytesTaken, t: clock.now() };
        return clock.stopGuest();
      },
      onSync: (info) => bandwidths.push(info.bandwidth),
      resumeGuest: () => undefined,
      convergence: convergeWithin60s,
      onProgress: (s) => {
        s.normal = m.section.normalPages;
        s.duplicate = m.section.zeroPages;
      },
    });
    await m.loading;
    expect(result.errorDesc).toBeUndefined();
    expect(result.status).toBe('completed');
    expect(Buffer.compare(m.target.blocks[0]!.bytes, m.source.blocks[0]!.bytes)).toBe(0);
    expect(m.reader.complete).toBe(true);

    // every page went by RDMA WRITE (nothing here is zero), and the counters say so
    const pages = m.section.controlPages;
    expect(pages).toBeGreaterThan(RAM_BYTES / PAGE); // the bulk round and what the guest wrote meanwhile
    expect([stats.normal, stats.duplicate]).toEqual([pages, 0]);
    expect(m.writer.stats.writtenBytes).toBe(pages * PAGE);
    expect(stats.transferred).toBe(result.bytesWritten + pages * PAGE);
    expect(stats.precopyBytes + stats.downtimeBytes).toBe(stats.transferred);

    // the rate limit: no slot carried more than its limit and one page past it (and its HOOK/EOS framing)
    // the rate limit: no slot carried more than its limit and one page past it (and its HOOK/EOS framing),
    // nor the whole precopy more than max-bandwidth over its time (the switchover is not limited, as in QEMU)
    expect(slotBytes.length).toBeGreaterThan(10);
    for (const bytes of slotBytes) expect(bytes).toBeLessThanOrEqual(SLOT_LIMIT + PAGE + 64);
    expect(beforeSwitchover.t).toBeGreaterThan(1000);
    expect(beforeSwitchover.bytes).toBeLessThanOrEqual((MAX_BANDWIDTH * beforeSwitchover.t) / 1000 + SLOT_LIMIT + PAGE);
    // the bandwidth was measured on the RDMA bytes too: near the limit, not the stream's few bytes a slot
    const measured = bandwidths.at(-1)!;
    expect(measured).toBeGreaterThan(0.5 * MAX_BANDWIDTH);
    expect(measured).toBeLessThanOrEqual(1.1 * MAX_BANDWIDTH);
    // so it converged once the bulk round was over: what was left fit under bandwidth × downtime-limit
    expect(result.passes).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
