import { describe, expect, it } from 'vitest';
import { StreamWriter } from './stream-writer.js';

const hexOf = (chunks: Uint8Array[]): string => Buffer.concat(chunks).toString('hex');

describe('StreamWriter', () => {
  it('writes big-endian primitives, counted strings and copied bytes', () => {
    const w = new StreamWriter();
    w.u8(0xab);
    w.be16(0x0102);
    w.be32(0xdeadbeef);
    w.be64(0x123456789a);
    w.counted(Buffer.from('ram'));
    const src = Uint8Array.of(9, 8, 7, 6);
    w.bytes(src, 1, 2);
    src.fill(0); // copied: later changes of the source do not reach the stream
    w.zeros(3);
    expect(hexOf(w.drain())).toBe('ab' + '0102' + 'deadbeef' + '000000123456789a' + '03' + '72616d' + '0807' + '000000');
    expect(w.bytesWritten).toBe(1 + 2 + 4 + 8 + 4 + 2 + 3);
    expect(() => w.counted(new Uint8Array(0))).toThrow(RangeError);
    expect(() => w.counted(new Uint8Array(256))).toThrow(RangeError);
  });

  it('keeps a reserved record in one chunk, allocating a new chunk when one fills, and never writes into drained bytes', () => {
    const w = new StreamWriter(8192);
    w.reserve(5000);
    w.zeros(5000);
    const first = w.drain();
    const snapshot = Buffer.from(first[0]!);
    w.reserve(5000); // does not fit behind the first: new chunk
    w.bytes(new Uint8Array(5000).fill(2));
    w.bytes(new Uint8Array(100).fill(3));
    const second = w.drain();
    expect(Buffer.from(first[0]!).equals(snapshot)).toBe(true);
    expect(second).toHaveLength(1);
    expect(second[0]!.buffer).not.toBe(first[0]!.buffer);
    expect(w.bytesWritten).toBe(10100);
    expect(w.pendingOutput).toBe(0);
    expect(w.drain()).toEqual([]);
  });

  it('takes a put larger than a chunk in one piece', () => {
    const w = new StreamWriter(8192);
    w.u8(1);
    w.bytes(new Uint8Array(20000).fill(5));
    const out = w.drain();
    expect(out.map((c) => c.length)).toEqual([1, 20000]);
  });

  it('reuses a chunk only once the stream has been flushed past its end, and never alters unflushed bytes', () => {
    const w = new StreamWriter(16384);
    const page = (fill: number) => new Uint8Array(4096).fill(fill);
    const out: Uint8Array[] = [];
    for (let i = 0; i < 6; i++) {
      w.reserve(4104);
      w.be64(i);
      w.bytes(page(i + 1));
      out.push(...w.drain());
    }
    const copies = out.map((c) => Uint8Array.from(c));
    const buffers = new Set(out.map((c) => c.buffer));
    expect(buffers.size).toBeGreaterThan(1);
    // nothing flushed: more writes must not touch what was handed out
    w.recycle(0);
    for (let i = 6; i < 12; i++) w.bytes(page(0xee));
    out.forEach((c, i) => expect(Buffer.compare(c, copies[i]!)).toBe(0));
    const later = w.drain();
    expect(later.some((c) => buffers.has(c.buffer))).toBe(false);
    // everything flushed: new chunks come from the spare list
    w.recycle(w.bytesWritten);
    for (let i = 12; i < 24; i++) w.bytes(page(0x11));
    const reused = w.drain();
    expect(reused.some((c) => buffers.has(c.buffer) || later.some((l) => l.buffer === c.buffer))).toBe(true);
  });

  it('refuses a chunk size below 8 KiB', () => {
    expect(() => new StreamWriter(4096)).toThrow(RangeError);
  });
});
