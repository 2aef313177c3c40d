import { describe, expect, it } from 'vitest';
import { FuzzViolation, SectionProbe, loadPieces, type LoadLimits, type ParsingSection, type PushParser } from './stream-harness.js';

class StreamError extends Error {
  override readonly name = 'StreamError';
  constructor(readonly offset: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A reader whose single section parses one byte per call and fails as told. */
function fakeReader(fail: (offset: number) => unknown, parse = (): number => 1): { reader: PushParser; section: ParsingSection } {
  let offset = 0;
  const section: ParsingSection = { parse, begin: () => undefined };
  const reader: PushParser = {
    bufferedBytes: 0,
    push(chunk) {
      for (let i = 0; i < chunk.length;) {
        const e = fail(offset);
        if (e) throw e;
        const r = section.parse(chunk, i, chunk.length, { offset });
        offset += r;
        i += r;
      }
    },
    end: () => undefined,
    backpressure: () => undefined,
    flush: async () => undefined,
  };
  return { reader, section };
}

const LIMITS: LoadLimits = { maxBuffered: 16, stepsPerByte: 2, deadlineMs: 5000 };
const bytes = [new Uint8Array(10), new Uint8Array(5)];

describe('loadPieces', () => {
  it('a refusal at the first byte of the first piece carries a valid offset', async () => {
    const { reader, section } = fakeReader((o) => (o === 0 ? new StreamError(0, 'bad magic') : undefined));
    expect(await loadPieces(reader, new SectionProbe([section]), bytes, LIMITS)).toEqual({ kind: 'refused', message: 'bad magic', offset: 0 });
  });

  it('a typed refusal wrapping a TypeError is a crash', async () => {
    const { reader, section } = fakeReader((o) => (o === 3 ? new StreamError(3, 'handler failed: x', { cause: new TypeError('x') }) : undefined));
    await expect(loadPieces(reader, new SectionProbe([section]), bytes, LIMITS)).rejects.toBeInstanceOf(FuzzViolation);
  });

  it('an offset past what was pushed is a violation', async () => {
    const { reader, section } = fakeReader((o) => (o === 12 ? new StreamError(99, 'far') : undefined));
    await expect(loadPieces(reader, new SectionProbe([section]), bytes, LIMITS)).rejects.toThrow(/without a valid offset \(99, 15 bytes pushed\)/);
  });

  it('a parser that does not advance is caught by the step bound', async () => {
    const { reader, section } = fakeReader(() => undefined, () => 0); // would loop for ever
    await expect(loadPieces(reader, new SectionProbe([section]), bytes, LIMITS)).rejects.toThrow(/89 parse steps, over the limit of 88/);
  });

  it('completes, and counts steps', async () => {
    const { reader, section } = fakeReader(() => undefined);
    const probe = new SectionProbe([section]);
    expect(await loadPieces(reader, probe, bytes, LIMITS)).toEqual({ kind: 'completed' });
    expect(probe.steps).toBe(15);
  });
});
