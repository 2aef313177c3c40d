import { describe, expect, it } from 'vitest';
import { xbzrleDecode, XbzrleDecodeError } from './decode.js';
import { xbzrleEncode } from './encode.js';

const P = 4096;

/** old = zeros; new = old with bytes [from, to) changed (set to 0xEE). */
function pair(...ranges: [number, number][]): { old: Uint8Array; neu: Uint8Array } {
  const old = new Uint8Array(P);
  const neu = new Uint8Array(P);
  for (const [a, b] of ranges) neu.fill(0xee, a, b);
  return { old, neu };
}

function enc(old: Uint8Array, neu: Uint8Array, limit = P): { r: number; bytes: number[] } {
  const out = new Uint8Array(P + 16);
  const r = xbzrleEncode(old, 0, neu, 0, P, out, 0, limit);
  return { r, bytes: [...out.subarray(0, Math.max(r, 0))] };
}

describe('XBZRLE facts from the README', () => {
  it('identical pages encode to nothing and return 0', () => {
    const { old } = pair();
    expect(enc(old, old.slice()).r).toBe(0);
  });

  it('first ZLEN may be 0; the trailing zero run is not written', () => {
    const { old, neu } = pair([0, 2]);
    expect(enc(old, neu)).toEqual({ r: 4, bytes: [0, 2, 0xee, 0xee] });
  });

  it('copies the NEW bytes, not an XOR', () => {
    const old = new Uint8Array(P).fill(0x0f);
    const neu = old.slice();
    neu[5] = 0xf0;
    expect(enc(old, neu)).toEqual({ r: 3, bytes: [5, 1, 0xf0] });
  });

  it('ULEB128: 127 takes one byte, 128 two (0x80, 0x01), 16383 = 0xff 0x7f', () => {
    expect(enc(...Object.values(pair([127, 128])) as [Uint8Array, Uint8Array]).bytes.slice(0, 2)).toEqual([127, 1]);
    expect(enc(...Object.values(pair([128, 129])) as [Uint8Array, Uint8Array]).bytes.slice(0, 3)).toEqual([0x80, 0x01, 1]);
    // NZLEN 127 / 128
    expect(enc(...Object.values(pair([1, 128])) as [Uint8Array, Uint8Array]).bytes.slice(0, 2)).toEqual([1, 127]);
    expect(enc(...Object.values(pair([1, 129])) as [Uint8Array, Uint8Array]).bytes.slice(0, 3)).toEqual([1, 0x80, 0x01]);
    // ZLEN 4095 (largest): 0xff 0x1f
    expect(enc(...Object.values(pair([4095, 4096])) as [Uint8Array, Uint8Array]).bytes).toEqual([0xff, 0x1f, 1, 0xee]);
  });

  it('the decoder accepts non-minimal 2-byte ULEB forms such as 0x85 0x00 = 5', () => {
    const page = new Uint8Array(P);
    expect(xbzrleDecode(Uint8Array.of(0x85, 0x00, 0x81, 0x00, 7), 0, 5, page, 0, P)).toBe(6);
    expect(page[5]).toBe(7);
  });

  it('longest encodable nonzero run is 4093: Z=3 gives exactly 4096 bytes; Z=0..2 give -1', () => {
    const a = enc(...Object.values(pair([3, 4096])) as [Uint8Array, Uint8Array]);
    expect(a.r).toBe(4096);
    expect(a.bytes.slice(0, 3)).toEqual([3, 0x80 | (4093 & 0x7f), 4093 >> 7]);
    for (const z of [0, 1, 2]) expect(enc(...Object.values(pair([z, z + 4093])) as [Uint8Array, Uint8Array]).r).toBe(-1);
    expect(enc(...Object.values(pair([0, 4096])) as [Uint8Array, Uint8Array]).r).toBe(-1);
  });

  it('quirk: E = 4095 or 4096 with an unchanged tail gives -1; without a tail it succeeds', () => {
    // one record: ZLEN (1 byte, z<128) + NZLEN (2 bytes) + n bytes = 3 + n
    // E = 4095 -> n = 4092; E = 4096 -> n = 4093.
    for (const [z, n, tail, want] of [
      [2, 4092, 2, -1], // E = 4095, tail 2
      [3, 4092, 1, -1], // E = 4095, tail 1
      [4, 4092, 0, 4095], // E = 4095, no tail
      [1, 4093, 2, -1], // E = 4096, tail 2
      [3, 4093, 0, 4096], // E = 4096, no tail
      [5, 4091, 0, 4094], // E = 4094, no tail
      [4, 4091, 1, 4094], // E = 4094 (= limit - 2), tail: fine
    ] as const) {
      expect(z + n + tail).toBe(P);
      const { r } = enc(...Object.values(pair([z, z + n])) as [Uint8Array, Uint8Array]);
      expect({ z, n, tail, r }).toEqual({ z, n, tail, r: want });
    }
  });

  it('overflow with a smaller limit: -1 as soon as E > limit, never writing past the limit', () => {
    const { old, neu } = pair([10, 20], [100, 110]);
    // E = (1+1+10) * 2 = 24
    const out = new Uint8Array(64).fill(0x55);
    expect(xbzrleEncode(old, 0, neu, 0, P, out, 0, 24)).toBe(-1); // d = limit and an unchanged tail follows: the quirk
    expect(out.subarray(24).every((b) => b === 0x55)).toBe(true);
    out.fill(0x55);
    expect(xbzrleEncode(old, 0, neu, 0, P, out, 0, 26)).toBe(24);
    out.fill(0x55);
    expect(xbzrleEncode(old, 0, neu, 0, P, out, 0, 20)).toBe(-1);
    expect(out.subarray(20).every((b) => b === 0x55)).toBe(true);
    expect(xbzrleEncode(old, 0, old, 0, P, out, 0, 1)).toBe(-1); // d + 2 checked before the first scan
  });

  it('decoder: returns the end of the last change; empty input returns 0', () => {
    const page = new Uint8Array(P);
    expect(xbzrleDecode(new Uint8Array(0), 0, 0, page, 0, P)).toBe(0);
    expect(xbzrleDecode(Uint8Array.of(10, 2, 1, 2), 0, 4, page, 0, P)).toBe(12);
  });

  it('decoder errors name the offset and the fault', () => {
    const page = new Uint8Array(P);
    const cases: [number[], string, number][] = [
      [[5], 'truncated', 0],
      [[0, 1, 9, 4], 'truncated', 3],
      [[0x80, 0x80, 1, 1], 'bad-varint', 0],
      [[1, 0x81, 0x81, 1], 'bad-varint', 1],
      [[0, 1, 9, 0, 1, 9], 'zero-zlen', 3],
      [[0xff, 0x7f, 1, 1], 'zero-run-past-page', 0],
      [[1, 0, 1], 'zero-nzlen', 1],
      [[0xff, 0x1f, 2, 1, 1], 'run-past-page', 2],
      [[0, 5, 1, 2], 'run-past-input', 1],
    ];
    for (const [bytes, fault, offset] of cases) {
      const src = Uint8Array.from(bytes);
      let err: unknown;
      try { xbzrleDecode(src, 0, src.length, page, 0, P); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(XbzrleDecodeError);
      expect({ fault: (err as XbzrleDecodeError).fault, offset: (err as XbzrleDecodeError).offset }).toEqual({ fault, offset });
      expect((err as Error).message).toContain(`at input offset ${offset}`);
    }
  });

  it('bad arguments are RangeErrors naming the range', () => {
    const a = new Uint8Array(P);
    expect(() => xbzrleEncode(a, 1, a, 0, P, a, 0, P)).toThrow(/old page range \[1, 4097\)/);
    expect(() => xbzrleDecode(a, 0, 10, a, 8, P)).toThrow(/page range \[8, 4104\)/);
  });
});
