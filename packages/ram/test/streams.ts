// Helpers shared by this package's tests: seeded content, small hand-made streams, an event recorder.
import { createHash } from 'node:crypto';
import type { StreamVisitor } from '../src/wire/stream-reader.js';
import type { RamBlockSize } from '../src/wire/stream-writer.js';

/** mulberry32: small seeded PRNG (32-bit outputs). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Fills `mem` page by page with a seeded mix of zero, random, constant and sparse pages. */
export function fillMixed(mem: Uint8Array, seed: number): void {
  const rnd = prng(seed);
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  for (let off = 0; off < mem.length; off += 4096) {
    const k = rnd() % 4;
    if (k === 0) mem.fill(0, off, off + 4096);
    else if (k === 1) for (let i = 0; i < 4096; i += 4) dv.setUint32(off + i, rnd());
    else if (k === 2) mem.fill(1 + (rnd() % 255), off, off + 4096);
    else {
      mem.fill(0, off, off + 4096);
      mem[off + (rnd() % 4096)] = 1 + (rnd() % 255);
    }
  }
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
}

/** A visitor that records every callback as a string (page contents by hash). */
export function recorder(): { events: string[]; visitor: StreamVisitor } {
  const events: string[] = [];
  const visitor: StreamVisitor = {
    onHeader: (v) => events.push(`header ${v}`),
    onConfiguration: (m) => events.push(`config ${m}`),
    onSectionStart: (id, s, inst, ver) => events.push(`start ${id} ${s} ${inst} ${ver}`),
    onSectionFull: (id, s, inst, ver) => events.push(`full ${id} ${s} ${inst} ${ver}`),
    onSectionPart: (id) => events.push(`part ${id}`),
    onSectionEnd: (id) => events.push(`end ${id}`),
    onFooter: (id) => events.push(`footer ${id}`),
    onRamMemSize: (blocks: readonly RamBlockSize[]) =>
      events.push(`memsize ${blocks.map((b) => `${b.idstr}:${b.usedLength}`).join(',')}`),
    onRamPage: (bi, off, buf, at) => events.push(`page ${bi} ${off} ${sha256(buf.subarray(at, at + 4096)).slice(0, 16)}`),
    onRamZero: (bi, off, fill) => events.push(`zero ${bi} ${off} ${fill}`),
    onRamXbzrle: (bi, off, buf, at, len) =>
      events.push(`xbzrle ${bi} ${off} ${Buffer.from(buf.subarray(at, at + len)).toString('hex')}`),
    onRamEos: () => events.push('eos'),
    onTimer: (a, b) => events.push(`timer ${a} ${b}`),
    onGlobalState: (r) => events.push(`globalstate ${r}`),
    onEof: () => events.push('eof'),
    onVmdesc: (j) => events.push(`vmdesc ${j.length}`),
  };
  return { events, visitor };
}
