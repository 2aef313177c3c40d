import { describe, expect, it } from 'vitest';
import { StreamWriter } from './stream-writer.js';

const page = (fill: number) => new Uint8Array(4096).fill(fill);

describe('StreamWriter chunk reuse', () => {
  it('reuses a chunk only once the stream has been flushed past its end, and never alters unflushed bytes', () => {
    const w = new StreamWriter(16384);
    const out: Uint8Array[] = [];
    for (let i = 0; i < 6; i++) {
      w.ramPage('ram', i > 0, i * 4096, page(i + 1), 0);
      out.push(...w.drain());
    }
    const copies = out.map((c) => Uint8Array.from(c));
    const buffers = new Set(out.map((c) => c.buffer));
    expect(buffers.size).toBeGreaterThan(1);
    // nothing flushed: more writes must not touch what was handed out
    w.recycle(0);
    for (let i = 6; i < 12; i++) w.ramPage('ram', true, i * 4096, page(0xee), 0);
    out.forEach((c, i) => expect(Buffer.compare(c, copies[i]!)).toBe(0));
    const later = w.drain();
    expect(later.some((c) => buffers.has(c.buffer))).toBe(false);
    // everything flushed: new chunks come from the spare list
    w.recycle(w.bytesWritten);
    for (let i = 12; i < 24; i++) w.ramPage('ram', true, i * 4096, page(0x11), 0);
    const reused = w.drain();
    expect(reused.some((c) => buffers.has(c.buffer) || later.some((l) => l.buffer === c.buffer))).toBe(true);
  });
});
