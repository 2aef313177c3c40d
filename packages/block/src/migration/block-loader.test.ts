import { describe, expect, it } from 'vitest';
import { StreamError, StreamReader, StreamWriter, writeConfiguration, writeEof, writeFileHeader, writeSectionFooter, writeSectionHeader, writeSectionShortHeader, SectionType } from '@mig/savevm';
import type { BlockTargetDevice } from './block-device.js';
import { BlockLoader } from './block-loader.js';
import { writeBlockChunk, writeBlockEos, writeBlockProgress, writeBlockZeroChunk } from './block-record-writer.js';
import { BLOCK_SECTION, CHUNK_SECTORS, CHUNK_SIZE } from './constants.js';

/** A drive in memory whose writes settle when the test says (or at once). */
class MemoryDrive implements BlockTargetDevice {
  readonly bytes: Uint8Array;
  readonly log: string[] = [];
  held: Array<() => void> | undefined;
  failAt: number | undefined;
  flushes = 0;
  constructor(readonly name: string, readonly size: number, readonly readOnly = false) {
    this.bytes = new Uint8Array(size);
  }
  private later(apply: () => void, offset: number): Promise<void> {
    if (offset === this.failAt) return Promise.reject(new Error('ENOSPC: no space left on device'));
    if (!this.held) {
      apply();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.held!.push(() => (apply(), resolve())));
  }
  write(offset: number, buf: Uint8Array, len: number): Promise<void> {
    const data = buf.slice(0, len);
    return this.later(() => (this.bytes.set(data, offset), this.log.push(`w ${offset} ${len} ${data[0]}`)), offset);
  }
  writeZeroes(offset: number, len: number): Promise<void> {
    return this.later(() => (this.bytes.fill(0, offset, offset + len), this.log.push(`z ${offset} ${len}`)), offset);
  }
  async flush(): Promise<void> {
    this.flushes++;
  }
}

const name = (s: string) => Buffer.from(s);
const chunk = (fill: number) => new Uint8Array(CHUNK_SIZE).fill(fill);

/** A stream holding one block section (START, one PART with `body`, END) and nothing else. */
function blockStream(body: (w: StreamWriter) => void): Uint8Array {
  const w = new StreamWriter();
  writeFileHeader(w);
  writeConfiguration(w, 'none');
  writeSectionHeader(w, SectionType.START, BLOCK_SECTION);
  writeBlockEos(w);
  writeSectionFooter(w, 1);
  writeSectionShortHeader(w, SectionType.PART, 1);
  body(w);
  writeBlockEos(w);
  writeSectionFooter(w, 1);
  writeSectionShortHeader(w, SectionType.END, 1);
  writeBlockProgress(w, 100);
  writeBlockEos(w);
  writeSectionFooter(w, 1);
  writeEof(w);
  return new Uint8Array(Buffer.concat(w.drain()));
}

function readerFor(drives: MemoryDrive[], depth?: number) {
  const loader = new BlockLoader({ devices: drives, ...(depth ? { depth } : {}) });
  return { loader, reader: new StreamReader({ machine: 'none', sections: [loader.section] }) };
}

async function expectStreamError(p: Promise<unknown> | (() => unknown), message: RegExp): Promise<StreamError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StreamError);
  expect((err as StreamError).message).toMatch(message);
  return err as StreamError;
}

describe('BlockLoader', () => {
  it('writes chunks, zero chunks and a short last chunk up to the drive end; reports progress; flushes', async () => {
    const d0 = new MemoryDrive('d0', 2 * CHUNK_SIZE + 4096);
    const stream = blockStream((w) => {
      writeBlockProgress(w, 40);
      writeBlockChunk(w, name('d0'), 2 * CHUNK_SECTORS, chunk(7)); // the last, 4 KiB of disk
      writeBlockChunk(w, name('d0'), 0, chunk(5));
      writeBlockZeroChunk(w, name('d0'), CHUNK_SECTORS);
    });
    const { loader, reader } = readerFor([d0]);
    d0.bytes.fill(0xee);
    reader.push(stream);
    reader.end();
    await reader.flush();
    expect(d0.log).toEqual([`w ${2 * CHUNK_SIZE} 4096 7`, `w 0 ${CHUNK_SIZE} 5`, `z ${CHUNK_SIZE} ${CHUNK_SIZE}`]);
    expect([loader.chunks, loader.zeroChunks, loader.progress, d0.flushes]).toEqual([2, 1, 100, 1]);
    expect(loader.padding).toEqual([{ device: 'd0', offset: 2 * CHUNK_SIZE + 4096, bytes: CHUNK_SIZE - 4096 }]);
  });

  it('writes two records of one chunk in stream order, even when the first write is slow', async () => {
    const d0 = new MemoryDrive('d0', CHUNK_SIZE);
    d0.held = [];
    const { reader } = readerFor([d0]);
    reader.push(blockStream((w) => {
      writeBlockChunk(w, name('d0'), 0, chunk(1));
      writeBlockChunk(w, name('d0'), 0, chunk(2));
    }));
    reader.end();
    const flushed = reader.flush();
    await new Promise((r) => setImmediate(r));
    expect(d0.held.length).toBe(1); // the second waits for the first
    while (d0.held.length > 0) {
      d0.held.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await flushed;
    expect(d0.bytes[0]).toBe(2);
  });

  it('holds the stream back at `depth` writes in flight, and goes on once they settle', async () => {
    const d0 = new MemoryDrive('d0', 8 * CHUNK_SIZE);
    d0.held = [];
    const { loader, reader } = readerFor([d0], 2);
    const stream = blockStream((w) => {
      for (let i = 0; i < 8; i++) writeBlockChunk(w, name('d0'), i * CHUNK_SECTORS, chunk(i + 1));
    });
    let waits = 0;
    for (let p = 0; p < stream.length; p += 65536) {
      reader.push(stream.subarray(p, p + 65536));
      const wait = reader.backpressure();
      if (wait) {
        waits++;
        while (d0.held.length > 0) d0.held.shift()!();
        await wait;
      }
    }
    reader.end();
    while (d0.held.length > 0) d0.held.shift()!();
    await reader.flush();
    expect(waits).toBeGreaterThan(2);
    expect(loader.buffersAllocated).toBeLessThanOrEqual(3);
    expect(Array.from({ length: 8 }, (_, i) => d0.bytes[i * CHUNK_SIZE])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('fails the load on a write that fails, naming drive and offset', async () => {
    const d0 = new MemoryDrive('d0', 2 * CHUNK_SIZE);
    d0.failAt = CHUNK_SIZE;
    const { reader } = readerFor([d0]);
    reader.push(blockStream((w) => {
      writeBlockChunk(w, name('d0'), 0, chunk(1));
      writeBlockChunk(w, name('d0'), CHUNK_SECTORS, chunk(2));
    }));
    reader.end();
    await expectStreamError(reader.flush(), /writing 1048576 bytes at byte 1048576 of block device 'd0' failed: ENOSPC/);
  });

  it('refuses an unknown drive, a read-only one, a chunk past the end, unknown flags, before any write', async () => {
    const cases: Array<[(w: StreamWriter) => void, RegExp, string]> = [
      [(w) => writeBlockChunk(w, name('dx'), 0, chunk(1)), /Error unknown block device dx \(this target's drives: d0, ro\)/, 'block chunk'],
      [(w) => writeBlockZeroChunk(w, name('ro'), 0), /block device ro is read-only/, 'block zero chunk'],
      [(w) => writeBlockChunk(w, name('d0'), 2 * CHUNK_SECTORS, chunk(1)), /chunk at sector 4096 \(byte 2097152\) is past the end of block device 'd0' \(2097152 bytes\)/, 'block chunk'],
      [(w) => w.be64(0x10), /Unknown block migration flags: 0x10/, 'block record'],
      [(w) => w.be64((3 << 9) | 0x03), /Unknown block migration flags: 0x3/, 'block record'],
      [(w) => writeBlockProgress(w, 101), /progress 101 % is above 100/, 'block PROGRESS'],
    ];
    for (const [body, message, record] of cases) {
      const d0 = new MemoryDrive('d0', 2 * CHUNK_SIZE);
      const ro = new MemoryDrive('ro', CHUNK_SIZE, true);
      const { reader } = readerFor([d0, ro]);
      const err = await expectStreamError(() => reader.push(blockStream(body)), message);
      expect(err.record).toBe(record);
      expect([d0.log, ro.log]).toEqual([[], []]);
    }
  });

  it('parses a stream of zero chunks split at every byte', async () => {
    const d0 = new MemoryDrive('d0', 12 * CHUNK_SIZE + 512);
    const stream = blockStream((w) => {
      for (let i = 0; i < 13; i++) writeBlockZeroChunk(w, name('d0'), i * CHUNK_SECTORS);
      writeBlockProgress(w, 77);
    });
    for (let cut = 1; cut < stream.length; cut++) {
      d0.log.length = 0;
      const { loader, reader } = readerFor([d0]);
      reader.push(stream.subarray(0, cut));
      reader.push(stream.subarray(cut));
      reader.end();
      await reader.flush();
      if (loader.zeroChunks !== 13 || d0.log.length !== 13 || d0.log[12] !== `z ${12 * CHUNK_SIZE} 512`) {
        expect({ cut, log: d0.log }).toEqual({ cut, log: 'all 13 zero chunks' });
      }
    }
  });

  // A chunk for a drive this target lacks is refused from its header: the 1 MiB it announces is never awaited
  // nor buffered, and a garbage name is shown escaped and cut short.
  it('refuses a drive name that matches no drive, and 255 bytes of garbage as a name, before the chunk data', async () => {
    const garbage = Uint8Array.from({ length: 255 }, (_, i) => (i * 37 + 1) & 0xff);
    for (const [id, message] of [
      [name('d0-missing'), /Error unknown block device d0-missing \(this target's drives: d0\)/],
      [garbage, /Error unknown block device \\x01&K.*\.\.\. \(255 bytes\) \(this target's drives: d0\)/],
    ] as const) {
      const d0 = new MemoryDrive('d0', 2 * CHUNK_SIZE);
      const { reader, loader } = readerFor([d0]);
      const whole = blockStream((w) => writeBlockChunk(w, id, 0, chunk(1)));
      const bodyAt = 17 + 19 + 8 + 5 + 5; // header, CONFIGURATION, START 'block', EOS, footer, PART
      const err = await expectStreamError(() => reader.push(whole.subarray(0, bodyAt + 9 + id.length)), message); // through the name
      expect(err.offset).toBe(bodyAt);
      expect(err.record).toBe('block chunk');
      expect(err.message).toMatch(/^[ -~]*$/);
      expect(reader.bufferedBytes).toBe(0);
      expect([d0.log, loader.buffersAllocated]).toEqual([[], 0]);
    }
  });
});
