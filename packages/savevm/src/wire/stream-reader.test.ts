import { describe, expect, it } from 'vitest';
import { CounterLoadSection, CounterSaveSection, COUNTER_ITEM_BYTES } from '../testing/counter-section.js';
import { GlobalStateLoadSection, GlobalStateSaveSection } from '../sections/globalstate.js';
import type { LoadContext, LoadSection } from '../sections/section.js';
import { TimerLoadSection, TimerSaveSection } from '../sections/timer.js';
import { SavevmSaver } from '../savevm-saver.js';
import { StreamError } from './stream-error.js';
import { StreamReader, type FramingObserver } from './stream-reader.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** A stream of timer, the counter section (12 items over several PARTs) and globalstate, as SavevmSaver writes it. */
function counterStream(items = 12): Uint8Array {
  const saver = new SavevmSaver({
    machine: 'none',
    sections: [new TimerSaveSection(), new CounterSaveSection(items), new GlobalStateSaveSection()],
  });
  saver.setup();
  while (saver.pendingBytes() > 0) saver.iterate(5 * COUNTER_ITEM_BYTES);
  saver.complete('running');
  return cat(...saver.drainOutput());
}

function recording(): { events: string[]; observer: FramingObserver } {
  const events: string[] = [];
  const observer: FramingObserver = {
    onHeader: (v) => events.push(`header ${v}`),
    onConfiguration: (m) => events.push(`config ${m}`),
    onSectionStart: (id, s, i, v) => events.push(`start ${id} ${s} ${i} ${v}`),
    onSectionFull: (id, s, i, v) => events.push(`full ${id} ${s} ${i} ${v}`),
    onSectionPart: (id) => events.push(`part ${id}`),
    onSectionEnd: (id) => events.push(`end ${id}`),
    onFooter: (id) => events.push(`footer ${id}`),
    onEof: () => events.push('eof'),
    onVmdesc: (j) => events.push(`vmdesc ${j.length}`),
  };
  return { events, observer };
}

function load(chunks: Iterable<Uint8Array>, sections?: LoadSection[]) {
  const counter = new CounterLoadSection();
  const gs = new GlobalStateLoadSection();
  const { events, observer } = recording();
  const reader = new StreamReader({ machine: 'none', sections: sections ?? [new TimerLoadSection(), counter, gs], observer });
  for (const c of chunks) reader.push(c);
  reader.end();
  return { reader, counter, gs, events };
}

function expectStreamError(fn: () => unknown, offset: number, record: string, message: RegExp): StreamError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(StreamError);
  const err = caught as StreamError;
  expect({ offset: err.offset, record: err.record, message: err.message }).toMatchObject({ offset, record, message: expect.stringMatching(message) });
  return err;
}

describe('StreamReader (framing over registered sections)', () => {
  const stream = counterStream();
  const values = Array.from({ length: 12 }, (_, i) => i * 1000 + 7);

  it('hands each section body to its handler and reports the framing', () => {
    const { counter, gs, events, reader } = load([stream]);
    expect(counter.values).toEqual(values);
    expect(counter.kinds).toEqual(['start', 'part', 'part', 'part', 'end']);
    expect(gs.runstate).toBe('running');
    expect(events.filter((e) => !e.startsWith('footer'))).toEqual([
      'header 3', 'config none', 'start 7 x-test-counter 0 1', 'part 7', 'part 7', 'part 7', 'end 7',
      'full 0 timer 0 2', 'full 4 globalstate 0 1', 'eof', expect.stringMatching(/^vmdesc \d+$/),
    ]);
    expect(reader.complete).toBe(true);
    expect(reader.bytesReceived).toBe(stream.length);
  });

  it('gives the same results split at every byte, and fed in small random chunks, keeping at most one record', () => {
    const whole = load([stream]).events;
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = load([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(r.events).toEqual(whole);
      expect(r.counter.values).toEqual(values);
    }
    for (let size = 1; size <= 7; size++) {
      const chunks: Uint8Array[] = [];
      for (let p = 0; p < stream.length; p += size) chunks.push(stream.subarray(p, p + size));
      const counter = new CounterLoadSection();
      const reader = new StreamReader({ machine: 'none', sections: [new TimerLoadSection(), counter, new GlobalStateLoadSection()] });
      for (const c of chunks) {
        reader.push(c);
        expect(reader.bufferedBytes).toBeLessThan(512); // the largest record here is the vmdesc
      }
      reader.end();
      expect(counter.values).toEqual(values);
    }
  });

  it('refuses a section with no handler, naming it and what this target loads', () => {
    expectStreamError(() => load([stream], [new TimerLoadSection(), new GlobalStateLoadSection()]), 17, 'SECTION_START',
      /^SECTION_START record at byte 17: Unknown savevm section or instance 'x-test-counter' 0: this target has no handler for it \(it loads: timer, globalstate\)$/);
  });

  it('checks the version against the handler, and FULL against iterative', () => {
    const head = stream.subarray(0, 17);
    const v = (version: number) => hex(`01 00000007 0e ${Buffer.from('x-test-counter').toString('hex')} 00000000 ${version.toString(16).padStart(8, '0')}`);
    expectStreamError(() => load([cat(head, v(2))]), 17, 'SECTION_START', /unsupported version 2 for 'x-test-counter' \(this target loads v1\)/);
    expectStreamError(() => load([cat(head, v(0))]), 17, 'SECTION_START', /unsupported version 0/);
    const ranged: LoadSection = Object.assign(new CounterLoadSection(), { version: 3, minVersion: 2 });
    expectStreamError(() => load([cat(head, v(1))], [ranged]), 17, 'SECTION_START', /\(this target loads v2\.\.v3\)/);
    const full = hex(`04 00000007 0e ${Buffer.from('x-test-counter').toString('hex')} 00000000 00000001`);
    expectStreamError(() => load([cat(head, full)]), 17, 'SECTION_FULL', /is iterative: SECTION_START\/PART\/END, not SECTION_FULL/);
    const timerStart = hex(`01 00000000 05 ${Buffer.from('timer').toString('hex')} 00000000 00000002`);
    expectStreamError(() => load([cat(head, timerStart)]), 17, 'SECTION_START', /section 'timer' must be sent as SECTION_FULL/);
  });

  it('refuses PART/END of a section never started, one that ended, a second START, EOF before END', () => {
    const head = stream.subarray(0, 17);
    expectStreamError(() => load([cat(head, hex('02 00000009'))]), 17, 'SECTION_PART', /unknown savevm section id 9 \(no SECTION_START for it\)/);
    // through the START of section 7 and its footer: START(14+14) body(4) footer(5)
    const started = stream.subarray(0, 17 + 28 + 4 + 5);
    const end = hex('03 00000007 00000000 7e00000007');
    expectStreamError(() => load([cat(started, end, hex('02 00000007'))]), started.length + end.length, 'SECTION_PART', /section id 7 \('x-test-counter'\) has already ended/);
    expectStreamError(() => load([cat(started, started.subarray(17))]), started.length, 'SECTION_START', /section id 7 \('x-test-counter'\) is started a second time/);
    expectStreamError(() => load([cat(started, hex('00'))]), started.length, 'EOF', /EOF before SECTION_END of section 7 'x-test-counter'/);
  });

  it('checks footers and what follows EOF', () => {
    const afterStart = 17 + 28 + 4;
    const wrongId = Uint8Array.from(stream);
    wrongId[afterStart + 4] = 3;
    expectStreamError(() => load([wrongId]), afterStart, 'section footer', /mismatched section id in footer for 'x-test-counter': read 3, expected 7/);
    const noFooter = Uint8Array.from(stream);
    noFooter[afterStart] = 0x02;
    expectStreamError(() => load([noFooter]), afterStart, 'section footer', /missing section footer for 'x-test-counter' \(expected 0x7e, found 0x2\)/);
    expectStreamError(() => load([stream, hex('ff')]), stream.length, 'end of stream', /data after the end of the stream \(byte 0xff\)/);
  });

  it('names where a stream that stops early stopped', () => {
    const afterStart = 17 + 28;
    expectStreamError(() => load([stream.subarray(0, afterStart)]), afterStart, 'x-test-counter',
      /stream ended after 45 bytes, before the next record of section 7 'x-test-counter' \(its body has not ended\)/);
    expectStreamError(() => load([stream.subarray(0, afterStart + 4)]), afterStart + 4, 'section footer', /before the footer of section 7 'x-test-counter'/);
    expectStreamError(() => load([stream.subarray(0, afterStart + 4 + 5 + 5 + 3)]), afterStart + 4 + 5 + 5, 'x-test-counter', /stream ended after 62 bytes inside x-test-counter record/);
  });

  it('lets a section end an empty body at begin(), and runs its end-of-stream check', () => {
    class Empty implements LoadSection {
      readonly iterative = false;
      readonly idstr = 'empty';
      readonly instanceId = 0;
      readonly version = 1;
      finished = 0;
      begin(_k: unknown, _v: number, context: LoadContext): void {
        context.endBody();
      }
      parse(): number {
        throw new Error('no body to parse');
      }
      finish(): void {
        this.finished++;
      }
    }
    const empty = new Empty();
    const s = cat(stream.subarray(0, 17), hex(`04 00000003 05 ${Buffer.from('empty').toString('hex')} 00000000 00000001 7e00000003 00`));
    const { events } = load([s], [empty]);
    expect(events).toContain('full 3 empty 0 1');
    expect(empty.finished).toBe(1);
    const counterNeverEnded = new CounterLoadSection();
    counterNeverEnded.finish = (context) => {
      throw context.error('the check of the section itself');
    };
    expectStreamError(() => load([stream], [new TimerLoadSection(), counterNeverEnded, new GlobalStateLoadSection()]), stream.length - 1 - 5 - 486, 'EOF', /the check of the section itself/);
  });

  it('wraps what a handler throws as a StreamError at its record, and stays failed', () => {
    const bad = new CounterLoadSection();
    const parse = bad.parse.bind(bad);
    bad.parse = (b, p, end, context) => {
      if (bad.values.length === 3) throw new TypeError('boom');
      return parse(b, p, end, context);
    };
    const reader = new StreamReader({ machine: 'none', sections: [new TimerLoadSection(), bad, new GlobalStateLoadSection()] });
    let err: unknown;
    try {
      reader.push(stream);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).message).toMatch(/handler failed: boom/);
    expect((err as StreamError).cause).toBeInstanceOf(TypeError);
    expect(() => reader.push(new Uint8Array(1))).toThrow(err as Error);
    expect(() => reader.end()).toThrow(err as Error);
  });

  it('refuses duplicate handlers', () => {
    expect(() => new StreamReader({ machine: 'none', sections: [new TimerLoadSection(), new TimerLoadSection()] })).toThrow(/registered twice/);
  });

  it('holds the caller back while a section defers work, and surfaces a deferred failure as a StreamError', async () => {
    class DeferringCounter extends CounterLoadSection {
      writes: Array<() => void> = [];
      failWith: Error | undefined;
      override parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
        const n = super.parse(b, p, end, context);
        if (n === COUNTER_ITEM_BYTES) this.writes.push(() => {});
        return n;
      }
      backpressure(): Promise<void> | undefined {
        if (this.writes.length < 4) return undefined;
        return new Promise<void>((resolve, reject) => setImmediate(() => {
          this.writes.length = 0;
          if (this.failWith) reject(this.failWith);
          else resolve();
        }));
      }
      async flush(): Promise<void> {
        if (this.failWith) throw this.failWith;
        this.writes.length = 0;
      }
    }
    const ok = new DeferringCounter();
    const reader = new StreamReader({ machine: 'none', sections: [new TimerLoadSection(), ok, new GlobalStateLoadSection()] });
    let waited = 0;
    for (let p = 0; p < stream.length; p += 16) {
      reader.push(stream.subarray(p, p + 16));
      const wait = reader.backpressure();
      if (wait) {
        waited++;
        await wait;
      }
      expect(ok.writes.length).toBeLessThanOrEqual(4);
    }
    reader.end();
    await reader.flush();
    expect(waited).toBeGreaterThan(0);
    expect(ok.values).toEqual(values);

    const bad = new DeferringCounter();
    bad.failWith = new Error('write of d0 at 0x100000 failed: ENOSPC');
    const failing = new StreamReader({ machine: 'none', sections: [new TimerLoadSection(), bad, new GlobalStateLoadSection()] });
    let err: unknown;
    try {
      for (let p = 0; p < stream.length; p += 16) {
        failing.push(stream.subarray(p, p + 16));
        await failing.backpressure();
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).message).toMatch(/write of d0 at 0x100000 failed: ENOSPC/);
    expect(() => failing.push(new Uint8Array(1))).toThrow(err as Error);
  });
});

// Sizes and counts a hostile stream claims are refused from the bytes that claim them: the reader never waits
// for (so never buffers) what such a length announces.
describe('StreamReader: hostile sizes', () => {
  const stream = counterStream();
  const head = stream.subarray(0, 17); // header + CONFIGURATION 'none'
  const reader = () => new StreamReader({ machine: 'none', sections: [new TimerLoadSection(), new CounterLoadSection(), new GlobalStateLoadSection()] });

  it('a machine name length of 4 GiB - 1', () => {
    const r = reader();
    expectStreamError(() => r.push(hex('5145564d 00000003 07 ffffffff')), 8, 'CONFIGURATION', /machine name length 4294967295 exceeds 256/);
    expect(r.bufferedBytes).toBe(0);
  });

  it('a vmdesc length of 4 GiB - 1 after EOF', () => {
    let eof = -1;
    const probe: StreamReader = new StreamReader({
      machine: 'none', sections: [new TimerLoadSection(), new CounterLoadSection(), new GlobalStateLoadSection()],
      observer: { onEof: () => (eof = probe.offset + 1) }, // the VMDESCRIPTION record follows the 1-byte EOF
    });
    probe.push(stream);
    const r = reader();
    expectStreamError(() => r.push(cat(stream.subarray(0, eof), hex('06 ffffffff'))), eof, 'VMDESCRIPTION', /vmdesc length 4294967295 exceeds 1048576/);
    expect(r.bufferedBytes).toBe(0);
  });

  it('a 255-byte idstr of garbage: named escaped and cut short, not printed raw', () => {
    const garbage = Uint8Array.from({ length: 255 }, (_, i) => (i * 37 + 1) & 0xff);
    const err = expectStreamError(() => load([cat(head, hex('01 00000009 ff'), garbage, hex('00000000 00000001'))]), 17, 'SECTION_START',
      /^SECTION_START record at byte 17: Unknown savevm section or instance '.*\.\.\. \(255 bytes\)' 0: this target has no handler/);
    // no control characters in the message (escaped as \xNN), and only the first 64 bytes shown
    expect(err.message).toMatch(/^[ -~]*$/);
    expect(err.message).toContain('\\x01&K');
    expect(err.message.length).toBeLessThan(400);
  });

  it('one handler started under many section ids is refused at the second (what the reader keeps stays bounded)', () => {
    const start = (id: number) => hex(`01 ${id.toString(16).padStart(8, '0')} 0e ${Buffer.from('x-test-counter').toString('hex')} 00000000 00000001`);
    // START id 7 with its body (a count of 0 items: the counter section's empty body) and footer, then START id 8
    const first = stream.subarray(17, 17 + 28 + 4 + 5);
    expectStreamError(() => load([cat(head, first, start(8))]), 17 + first.length, 'SECTION_START',
      /section 'x-test-counter' is started a second time, as section id 8 \(it began as section id 7\)/);
  });
});
