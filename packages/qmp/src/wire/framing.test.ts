import { describe, expect, it } from 'vitest';
import { LINE_TOO_LONG, LineDecoder, LineTooLongError } from './framing.js';

describe('LineDecoder', () => {
  const input = '{"a":1}\r\n{"b":"é"}\n\n{"c":3}\n';

  it('gives the same lines for every split of the input', () => {
    const bytes = Buffer.from(input);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const d = new LineDecoder();
        const out = [...d.push(bytes.subarray(0, i)), ...d.push(bytes.subarray(i, j)), ...d.push(bytes.subarray(j))];
        expect(out).toEqual(['{"a":1}', '{"b":"é"}', '', '{"c":3}']);
        expect(d.pendingBytes).toBe(0);
      }
    }
  });

  it('keeps an unfinished tail', () => {
    const d = new LineDecoder();
    expect(d.push(Buffer.from('abc\nde'))).toEqual(['abc']);
    expect(d.pendingBytes).toBe(2);
    expect(d.push(Buffer.from('f\n'))).toEqual(['def']);
  });

  it('refuses a line over the bound, in one chunk or across chunks, keeping earlier lines', () => {
    const d = new LineDecoder(8);
    expect(d.push(Buffer.from('12345678\n'))).toEqual(['12345678']);
    let err: unknown;
    try {
      d.push(Buffer.from('ok\n123456789\n'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LineTooLongError);
    expect((err as LineTooLongError).lines).toEqual(['ok']);
    const e2 = new LineDecoder(8);
    e2.push(Buffer.from('12345'));
    expect(() => e2.push(Buffer.from('6789'))).toThrow('QMP input line exceeds 8 bytes');
  });

  it('pushSkipping reports an over-long line once, where it crossed the bound, and serves the lines after it', () => {
    const d = new LineDecoder(8);
    expect(d.pushSkipping(Buffer.from('ok\n123456789\nnext\n'))).toEqual(['ok', LINE_TOO_LONG, 'next']);
    expect(d.pushSkipping(Buffer.from('12345678\n'))).toEqual(['12345678']);
  });

  it('pushSkipping holds none of an over-long line while it lasts, however many chunks it takes', () => {
    const d = new LineDecoder(1024);
    expect(d.pushSkipping(Buffer.from('{"id":1}\n{"a":"'))).toEqual(['{"id":1}']);
    const filler = Buffer.alloc(64 * 1024, 0x78);
    expect(d.pushSkipping(filler)).toEqual([LINE_TOO_LONG]);
    for (let i = 0; i < 1600; i++) {
      // 100 MiB in all, never buffered
      expect(d.pushSkipping(filler)).toEqual([]);
      expect(d.pendingBytes).toBe(0);
      expect(d.discarding).toBe(true);
    }
    expect(d.pushSkipping(Buffer.from('"}\n{"id":2'))).toEqual([]);
    expect(d.discarding).toBe(false);
    expect(d.pendingBytes).toBe(7);
    expect(d.pushSkipping(Buffer.from('}\n'))).toEqual(['{"id":2}']);
  });

  it('a line of exactly the bound passes, in pieces or whole; one byte more does not', () => {
    const d = new LineDecoder(8);
    expect(d.pushSkipping(Buffer.from('1234'))).toEqual([]);
    expect(d.pushSkipping(Buffer.from('5678\r'))).toEqual([LINE_TOO_LONG]); // the CR counts
    expect(d.pushSkipping(Buffer.from('\n1234567\r\n'))).toEqual(['1234567']);
  });
});
