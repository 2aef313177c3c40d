import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GlobalStateLoadSection, StreamError, StreamReader, TimerLoadSection } from '@mig/savevm';
import { RamSectionReader, type RamVisitor } from '../wire/ram-section-reader.js';
import { concat, hex, MachineNoneLoader, prng, recorder, RecordWriter, sha256 } from '../../test/streams.js';
import { GuestRam } from '../memory/guest-ram.js';
import { createRamBlock } from '../memory/ram-block.js';
import { xbzrleDecode } from '../xbzrle/index.js';
import type { XbzrlePageHandler } from './ram-loader.js';

const fixtureUrl = (name: string) => new URL(`../../test/fixtures/${name}`, import.meta.url);
const qemuStream = new Uint8Array(readFileSync(fixtureUrl('qemu72-mem0-4m.stream')));
interface Meta {
  ramSha256: string;
  runstate: string;
  streamSha256: string;
  blocks: Array<{ idstr: string; usedLength: number }>;
  queryMigrate: { ram: { normal: number; duplicate: number } };
}
const meta = JSON.parse(readFileSync(fixtureUrl('qemu72-mem0-4m.json'), 'utf8')) as Meta;

function target(size = 4 << 20, idstr = 'mem0'): GuestRam {
  return new GuestRam([createRamBlock(idstr, new Uint8Array(size))]);
}

function loadChunks(chunks: Iterable<Uint8Array>, opts: { ram?: GuestRam; onXbzrle?: XbzrlePageHandler } = {}) {
  const ram = opts.ram ?? target();
  const loader = new MachineNoneLoader({ ...opts, ram });
  for (const c of chunks) loader.push(c);
  return { ram, loader, result: loader.end() };
}

function* randomChunks(b: Uint8Array, seed: number, max: number): Generator<Uint8Array> {
  const rnd = prng(seed);
  for (let p = 0; p < b.length; ) {
    const n = 1 + (rnd() % max);
    yield b.subarray(p, p + n);
    p += n;
  }
}

/** Offsets of the first record of each ram kind in a stream (found with the reader itself). */
function recordOffsets(stream: Uint8Array): Record<string, number> {
  const found: Record<string, number> = {};
  const r: StreamReader = new StreamReader({
    machine: 'none',
    sections: recorder().sections(meta.blocks, {
      onMemSize: () => (found.memSize ??= r.offset),
      onPage: () => (found.page ??= r.offset),
      onZero: () => (found.zero ??= r.offset),
    }),
  });
  r.push(stream);
  return found;
}

function catchStreamError(fn: () => unknown): StreamError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StreamError) return e;
    throw new Error(`expected a StreamError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a StreamError, nothing was thrown');
}

describe("QEMU 7.2's own small stream (1 MiB, six data pages) split at every byte", () => {
  const small = new Uint8Array(readFileSync(fixtureUrl('qemu72-mem0-1m-small.stream')));
  const smallMeta = JSON.parse(readFileSync(fixtureUrl('qemu72-mem0-1m-small.json'), 'utf8')) as Meta;

  it('gives the same records for every cut, each page record with the source page', () => {
    expect(sha256(small)).toBe(smallMeta.streamSha256);
    const source = loadChunks([small], { ram: target(1 << 20) }).ram.blocks[0]!.bytes;
    expect(sha256(source)).toBe(smallMeta.ramSha256);
    const expectedPage = (offset: number) => Buffer.from(source.buffer, source.byteOffset + offset, 4096);
    let zeros = 0;
    let pages = 0;
    let wrong = 0;
    const visitor: RamVisitor = {
      onZero: (_b, offset) => (zeros++, void (source[offset] === 0 || wrong++)),
      onPage: (_b, offset, buf, at) => (pages++, void (expectedPage(offset).equals(buf.subarray(at, at + 4096)) || wrong++)),
    };
    for (let cut = 1; cut < small.length; cut++) {
      zeros = pages = wrong = 0;
      const globalstate = new GlobalStateLoadSection();
      const reader = new StreamReader({ machine: 'none', sections: [new TimerLoadSection(), new RamSectionReader(smallMeta.blocks, visitor), globalstate] });
      reader.push(small.subarray(0, cut));
      reader.push(small.subarray(cut));
      reader.end();
      const got = { cut, zeros, pages, wrong, runstate: globalstate.runstate };
      const want = { cut, zeros: smallMeta.queryMigrate.ram.duplicate, pages: smallMeta.queryMigrate.ram.normal, wrong: 0, runstate: smallMeta.runstate };
      if (got.zeros !== want.zeros || got.pages !== want.pages || got.wrong !== 0 || got.runstate !== want.runstate) expect(got).toEqual(want);
    }
  }, 120_000); // ~27 600 cuts, each a whole parse: far past vitest's 5 s default on a loaded machine
});

describe('StreamLoader with a stream made by QEMU 7.2', () => {
  it('is the committed fixture', () => {
    expect(sha256(qemuStream)).toBe(meta.streamSha256);
  });

  it('reproduces the source RAM exactly, with QEMU counters and runstate', () => {
    const { ram, loader, result } = loadChunks([qemuStream]);
    expect(sha256(ram.blocks[0]!.bytes)).toBe(meta.ramSha256);
    expect(result).toEqual({ runstate: meta.runstate });
    expect(loader.ram.normalPages).toBe(meta.queryMigrate.ram.normal);
    expect(loader.ram.zeroPages).toBe(meta.queryMigrate.ram.duplicate);
    expect(loader.ram.zeroPagesSkipped).toBe(meta.queryMigrate.ram.duplicate); // target RAM was all zero
    expect(loader.bytesReceived).toBe(qemuStream.length);
  });

  it('reproduces it fed in random chunk sizes', () => {
    for (const [seed, max] of [[1, 7], [2, 300], [3, 5000], [4, 70000]] as const) {
      const { ram } = loadChunks(randomChunks(qemuStream, seed, max));
      expect(sha256(ram.blocks[0]!.bytes)).toBe(meta.ramSha256);
    }
  });

  it('overwrites stale target content, also for ZERO pages', () => {
    const ram = target();
    ram.blocks[0]!.bytes.fill(0xee);
    loadChunks([qemuStream], { ram });
    expect(sha256(ram.blocks[0]!.bytes)).toBe(meta.ramSha256);
  });

  it('rejects the stream truncated at 20 points, naming where it stopped', () => {
    const rnd = prng(20);
    const cuts = [0, 1, 8, 12, 17, 40, qemuStream.length - 1];
    while (cuts.length < 20) cuts.push(rnd() % qemuStream.length);
    for (const cut of cuts) {
      const err = catchStreamError(() => loadChunks(randomChunks(qemuStream.subarray(0, cut), cut, 9000)));
      expect(err.message).toMatch(new RegExp(`stream ended after ${cut} bytes`));
      expect(err.offset).toBeLessThanOrEqual(cut);
      expect(cut - err.offset).toBeLessThan(4096 + 20); // inside the last record at most
    }
  });

  it('rejects flipped magic, MEM_SIZE larger than the target, pages outside the block, unknown flags', () => {
    const at = recordOffsets(qemuStream);
    const magic = Uint8Array.from(qemuStream);
    magic[3] = 0x4c; // 'M' → 'L'
    let e = catchStreamError(() => loadChunks([magic]));
    expect([e.offset, e.record]).toEqual([0, 'header']);
    expect(e.message).toMatch(/bad magic 0x5145564c/);

    e = catchStreamError(() => loadChunks([qemuStream], { ram: target(2 << 20) }));
    expect([e.offset, e.record]).toEqual([at.memSize, 'ram MEM_SIZE']);
    expect(e.message).toMatch(/stream has 4194304 bytes .* target has 2097152/);

    const outside = Uint8Array.from(qemuStream);
    outside[at.page! + 5] = 0x40; // offset += 4 MiB
    e = catchStreamError(() => loadChunks([outside]));
    expect([e.offset, e.record]).toEqual([at.page, 'ram PAGE']);
    expect(e.message).toMatch(/outside RAM block 'mem0'/);

    const flag = Uint8Array.from(qemuStream);
    flag[at.zero! + 7] = flag[at.zero! + 7]! | 0x80;
    e = catchStreamError(() => loadChunks([flag]));
    expect([e.offset, e.record]).toEqual([at.zero, 'ram record']);
    expect(e.message).toMatch(/unknown RAM flag\(s\) 0x80/);

    e = catchStreamError(() => loadChunks([qemuStream], { ram: target(4 << 20, 'ram') }));
    expect([e.offset, e.record]).toEqual([at.memSize, 'ram MEM_SIZE']);
    expect(e.message).toMatch(/unknown ramblock "mem0"/);
  });

  it('throws nothing but StreamError for randomly damaged streams', () => {
    const small = qemuStream.subarray(0, 60000);
    const rnd = prng(99);
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const bad = Uint8Array.from(small);
      const n = 1 + (rnd() % 3);
      for (let k = 0; k < n; k++) bad[rnd() % 200] = rnd() & 0xff; // damage the framing-heavy start
      const loader = new MachineNoneLoader({ ram: target() });
      try {
        for (const c of randomChunks(bad, i, 5000)) loader.push(c);
        loader.end();
      } catch (err) {
        expect(err).toBeInstanceOf(StreamError);
        rejected++;
      }
    }
    expect(rejected).toBe(300); // the truncated stream can never end well
  });
});

describe('StreamLoader XBZRLE pages', () => {
  function xbzrleStream(encoded: Uint8Array): Uint8Array {
    const w = new RecordWriter();
    w.header();
    w.configuration('none');
    w.sectionStart(2, 'ram', 0, 4);
    w.ramMemSize([{ idstr: 'mem0', usedLength: 8192 }]);
    w.ramEos();
    w.footer(2);
    w.sectionPart(2);
    w.ramPage('mem0', false, 4096, new Uint8Array(4096).fill(0x11), 0);
    w.ramXbzrle('mem0', true, 4096, encoded, 0, encoded.length);
    w.ramEos();
    w.footer(2);
    w.sectionEnd(2);
    w.ramEos();
    w.footer(2);
    w.eof();
    return concat(w.drain());
  }
  // QEMU's XBZRLE: uleb128 unchanged run, uleb128 changed run + bytes.
  const encoded = hex('10 02 aabb');

  it('applies them with the pluggable decoder', () => {
    const ram = target(8192);
    const { loader } = loadChunks([xbzrleStream(encoded)], {
      ram,
      onXbzrle: (dest, destOffset, src, srcOffset, len) => void xbzrleDecode(src, srcOffset, len, dest, destOffset, 4096),
    });
    const page = ram.blocks[0]!.bytes.subarray(4096);
    expect([page[15], page[16], page[17], page[18]]).toEqual([0x11, 0xaa, 0xbb, 0x11]);
    expect(loader.ram.xbzrlePages).toBe(1);
  });

  it('without a decoder, rejects them', () => {
    const s = xbzrleStream(encoded);
    const e = catchStreamError(() => loadChunks([s], { ram: target(8192) }));
    expect(e.record).toBe('ram XBZRLE');
    expect(e.offset).toBe(s.length - 1 - (5 + 8 + 5) - 5 - 8 - 7 - 8); // EOF, the END section, footer, EOS, the record
    expect(e.message).toMatch(/XBZRLE page received but XBZRLE decoding is not available/);
  });

  it('turns a decoder failure into a StreamError with the cause', () => {
    const e = catchStreamError(() =>
      loadChunks([xbzrleStream(hex('10 7f aa'))], {
        ram: target(8192),
        onXbzrle: (dest, destOffset, src, srcOffset, len) => void xbzrleDecode(src, srcOffset, len, dest, destOffset, 4096),
      }),
    );
    expect(e.record).toBe('ram XBZRLE');
    expect(e.message).toMatch(/failed to decode XBZRLE page at offset 0x1000 of 'mem0'/);
    expect(e.cause).toBeInstanceOf(Error);
  });
});
