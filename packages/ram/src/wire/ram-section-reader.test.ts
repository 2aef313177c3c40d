import { describe, expect, it } from 'vitest';
import { StreamError, StreamReader } from '@mig/savevm';
import { concat, hex, prng, recorder, RecordWriter } from '../../test/streams.js';
import type { RamVisitor } from './ram-section-reader.js';

const BLOCKS = [
  { idstr: 'a', usedLength: 3 * 4096 },
  { idstr: 'bb', usedLength: 2 * 4096 },
];

function randomPage(seed: number): Uint8Array {
  const r = prng(seed);
  const p = new Uint8Array(4096);
  for (let i = 0; i < p.length; i++) p[i] = r() & 0xff;
  return p;
}

/** Header, CONFIGURATION and the ram SECTION_START with MEM_SIZE, EOS, footer. */
function writePrefix(w: RecordWriter, blocks = BLOCKS, machine = 'none'): void {
  w.header();
  w.configuration(machine);
  w.sectionStart(2, 'ram', 0, 4);
  w.ramMemSize(blocks);
  w.ramEos();
  w.footer(2);
}

/** A small complete stream touching every record kind. */
function smallStream(): Uint8Array {
  const w = new RecordWriter();
  writePrefix(w);
  w.sectionPart(2);
  w.ramPage('a', false, 0, randomPage(1), 0);
  w.ramZero('a', true, 0x1000, 7);
  w.ramXbzrle('bb', false, 0x1000, Uint8Array.of(1, 2, 3, 4, 5), 0, 5);
  w.ramPage('bb', true, 0, randomPage(2), 0);
  w.ramEos();
  w.footer(2);
  w.sectionEnd(2);
  w.ramZero('a', false, 0x2000, 0);
  w.ramEos();
  w.footer(2);
  w.sectionFull(0, 'timer', 0, 2);
  w.bytes(hex('0000000000000005 0000000000000000 fffffffffffffffe'));
  w.footer(0);
  w.sectionFull(4, 'globalstate', 0, 1);
  const gs = new Uint8Array(104);
  gs.set(hex('00000008'), 0);
  gs.set(Buffer.from('running'), 4);
  w.bytes(gs);
  w.footer(4);
  w.eof();
  w.vmdesc('{"page_size": 4096}');
  return concat(w.drain());
}

const EXPECTED_EVENTS = [
  'header 3',
  'config none',
  'start 2 ram 0 4',
  'memsize a:12288,bb:8192',
  'eos',
  'footer 2',
  'part 2',
  `page 0 0 ${'*'}`,
  'zero 0 4096 7',
  'xbzrle 1 4096 0102030405',
  `page 1 0 ${'*'}`,
  'eos',
  'footer 2',
  'end 2',
  'zero 0 8192 0',
  'eos',
  'footer 2',
  'full 0 timer 0 2',
  'timer 5 -2',
  'footer 0',
  'full 4 globalstate 0 1',
  'globalstate running',
  'footer 4',
  'eof',
  'vmdesc 19',
];

function reader(rec = recorder(), machine = 'none', visitor?: RamVisitor): StreamReader {
  return new StreamReader({ machine, sections: rec.sections(BLOCKS, visitor), observer: rec.observer });
}

function read(chunks: Iterable<Uint8Array>, rec = recorder(), machine = 'none'): StreamReader {
  const r = reader(rec, machine);
  for (const c of chunks) r.push(c);
  r.end();
  return r;
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
  expect({ offset: err.offset, record: err.record }).toEqual({ offset, record });
  expect(err.message).toMatch(message);
  return err;
}

describe('StreamReader', () => {
  const stream = smallStream();

  it('reads every record of a stream written by StreamWriter', () => {
    const rec = recorder();
    const r = read([stream], rec);
    const events = rec.events;
    expect(events.map((e) => e.replace(/^(page \d+ \d+) .*/, '$1 *'))).toEqual(EXPECTED_EVENTS);
    expect(r.complete).toBe(true);
    expect(r.bytesReceived).toBe(stream.length);
  });

  it('gives the same callbacks when the stream is split at any byte boundary', () => {
    const whole = recorder();
    read([stream], whole);
    for (let cut = 0; cut <= stream.length; cut++) {
      const rec = recorder();
      read([stream.subarray(0, cut), stream.subarray(cut)], rec);
      expect(rec.events).toEqual(whole.events);
    }
  });

  it('gives the same callbacks fed one byte at a time and in random chunk sizes, keeping at most one record', () => {
    const whole = recorder();
    read([stream], whole);
    for (const maxChunk of [1, 3, 17, 4097, 9000]) {
      const rnd = prng(maxChunk);
      const rec = recorder();
      const events = rec.events;
      const r = reader(rec);
      for (let p = 0; p < stream.length; ) {
        const n = 1 + (rnd() % maxChunk);
        r.push(stream.subarray(p, p + n));
        expect(r.bufferedBytes).toBeLessThanOrEqual(8 + 1 + 2 + 4096);
        p += n;
      }
      r.end();
      expect(events).toEqual(whole.events);
    }
  });

  it('hands page data over without copying when the page lies inside one chunk', () => {
    let seen: Uint8Array | undefined;
    const r = reader(recorder(), 'none', { onPage: (_b, _o, buf) => (seen ??= buf) });
    r.push(stream);
    r.end();
    expect(seen).toBe(stream);
  });

  describe('rejects a broken stream with the record offset and what was wrong', () => {
    const prefix = (() => {
      const w = new RecordWriter();
      writePrefix(w);
      w.sectionPart(2);
      return concat(w.drain());
    })();
    const startAt = 17; // SECTION_START after header (8) and CONFIGURATION (9)
    const memSizeAt = startAt + 17;
    const partBody = prefix.length;
    const feed = (...parts: Uint8Array[]) => () => read([concat(parts)]);

    it('bad magic and unsupported versions', () => {
      const bad = Uint8Array.from(stream);
      bad[0] = 0x51 ^ 0xff;
      expectStreamError(() => read([bad]), 0, 'header', /bad magic 0xae45564d/);
      expectStreamError(feed(hex('5145564d 00000002')), 0, 'header', /v2 format is obsolete/);
      expectStreamError(feed(hex('5145564d 00000004')), 0, 'header', /unsupported migration stream version 4/);
    });

    it('missing CONFIGURATION, machine mismatch, oversized machine name', () => {
      expectStreamError(feed(stream.subarray(0, 8), stream.subarray(17)), 8, 'CONFIGURATION', /CONFIGURATION section missing/);
      expectStreamError(() => read([stream], recorder(), 'pc-i440fx-7.2'), 8, 'CONFIGURATION', /received is 'none' and local is 'pc-i440fx-7.2'/);
      expectStreamError(feed(hex('5145564d 00000003 07 00100000')), 8, 'CONFIGURATION', /machine name length 1048576 exceeds/);
    });

    it('unknown section type, unknown idstr, unsupported version, unknown section id', () => {
      const head = stream.subarray(0, startAt);
      expectStreamError(feed(head, hex('09')), startAt, 'section', /unknown or unsupported section type 0x9/);
      expectStreamError(feed(head, hex('08 0000')), startAt, 'section', /QEMU_VM_COMMAND/);
      expectStreamError(feed(head, hex('04 00000001 03 666f6f 00000000 00000001')), startAt, 'SECTION_FULL', /Unknown savevm section or instance 'foo' 0: this target has no handler for it \(it loads: timer, ram, globalstate\)/);
      expectStreamError(feed(head, hex('01 00000002 03 72616d 00000000 00000005')), startAt, 'SECTION_START', /unsupported version 5 for 'ram' \(this target loads v4\)/);
      expectStreamError(feed(head, hex('02 00000009')), startAt, 'SECTION_PART', /unknown savevm section id 9/);
    });

    it('wrong footer', () => {
      const w = new RecordWriter();
      writePrefix(w);
      const good = concat(w.drain());
      const wrongId = Uint8Array.from(good);
      wrongId[good.length - 1] = 3;
      expectStreamError(feed(wrongId), good.length - 5, 'section footer', /read 3, expected 2/);
      const noFooter = Uint8Array.from(good);
      noFooter[good.length - 5] = 0x02;
      expectStreamError(feed(noFooter), good.length - 5, 'section footer', /missing section footer for 'ram'.*found 0x2/);
    });

    it('unknown RAM flags and combinations', () => {
      expectStreamError(feed(prefix, hex('0000000000000080')), partBody, 'ram record', /unknown RAM flag\(s\) 0x80 \(HOOK \(RDMA\)/);
      expectStreamError(feed(prefix, hex('0000000000000108')), partBody, 'ram record', /0x100 \(COMPRESS_PAGE/);
      expectStreamError(feed(prefix, hex('0000000000000201')), partBody, 'ram record', /unknown RAM flag\(s\) 0x201/);
      expectStreamError(feed(prefix, hex('000000000000000a')), partBody, 'ram record', /unknown combination of RAM flags 0xa/);
      expectStreamError(feed(prefix, hex('0000000000000000')), partBody, 'ram record', /unknown combination of RAM flags 0x0/);
      expectStreamError(feed(prefix, hex('0000000000000030')), partBody, 'ram record', /combination of RAM flags 0x30/);
    });

    it('MEM_SIZE that differs from the target RAM', () => {
      const head = prefix.subarray(0, memSizeAt);
      expectStreamError(feed(head, hex('0000000000006004 01 61 0000000000003000 02 6262 0000000000003000')), memSizeAt, 'ram MEM_SIZE', /stream has 24576 bytes \(0x6000\), target has 20480/);
      expectStreamError(feed(head, hex('0000000000005004 01 61 0000000000004000 02 6262 0000000000001000')), memSizeAt, 'ram MEM_SIZE', /length mismatch: a: 0x4000 in != 0x3000/);
      expectStreamError(feed(head, hex('0000000000005004 01 63 0000000000003000')), memSizeAt, 'ram MEM_SIZE', /unknown ramblock "c"/);
      expectStreamError(feed(head, hex('0000000000005004 01 61 0000000000003000 01 61 0000000000003000')), memSizeAt, 'ram MEM_SIZE', /"a" is listed twice/);
    });

    it('pages outside their block, unknown block, CONTINUE without a block', () => {
      const page = new Uint8Array(4096);
      expectStreamError(feed(prefix, hex('0000000000003008 01 61'), page), partBody, 'ram PAGE', /page offset 0x3000 is outside RAM block 'a' \(0x3000 bytes\)/);
      expectStreamError(feed(prefix, hex('0000000100000002 02 6262 00')), partBody, 'ram ZERO', /page offset 0x100000000 is outside RAM block 'bb'/);
      expectStreamError(feed(prefix, hex('0000000000000008 03 787878'), page), partBody, 'ram PAGE', /unknown RAM block 'xxx'/);
      expectStreamError(feed(prefix, hex('0000000000000028'), page), partBody, 'ram PAGE', /CONTINUE flag with no previous RAM block/);
    });

    it('bad XBZRLE headers', () => {
      expectStreamError(feed(prefix, hex('0000000000000040 01 61 02 0001 00')), partBody, 'ram XBZRLE', /wrong XBZRLE encoding flag 0x2/);
      expectStreamError(feed(prefix, hex('0000000000000040 01 61 01 1001')), partBody, 'ram XBZRLE', /XBZRLE data length 4097 exceeds/);
    });

    it('bad globalstate, oversized vmdesc, data after the end', () => {
      const vmdescAt = stream.length - 5 - 19;
      const tailEnd = stream.subarray(0, vmdescAt); // through EOF
      const gsAt = vmdescAt - 1 - 5 - 104;
      const badGs = Uint8Array.from(tailEnd);
      badGs.set(Buffer.from('flying\0'), gsAt + 4);
      expectStreamError(feed(badGs), gsAt, 'globalstate', /invalid runstate 'flying'/);
      const noNul = Uint8Array.from(tailEnd);
      noNul.fill(0x61, gsAt + 4, gsAt + 104);
      expectStreamError(feed(noNul), gsAt, 'globalstate', /not NUL-terminated/);
      expectStreamError(feed(tailEnd, hex('06 00100001')), vmdescAt, 'VMDESCRIPTION', /vmdesc length 1048577 exceeds 1048576/);
      expectStreamError(feed(tailEnd, hex('00')), vmdescAt, 'end of stream', /data after the end of the stream \(byte 0x0 after EOF\)/);
      expectStreamError(feed(stream, hex('ff')), stream.length, 'end of stream', /data after the end of the stream \(byte 0xff\)/);
    });

    it('a stream that stops early, naming where', () => {
      expectStreamError(() => read([prefix, hex('0000000000000008 01 61'), new Uint8Array(100)]), partBody, 'ram PAGE', new RegExp(`stream ended after ${partBody + 110} bytes inside ram PAGE record`));
      expectStreamError(() => read([prefix]), partBody, 'ram', new RegExp(`ended after ${partBody} bytes, before the next record of section 2 'ram' \\(its body has not ended\\)`));
      expectStreamError(() => read([]), 0, 'header', /ended after 0 bytes, before the file header/);
      expectStreamError(() => read([stream.subarray(0, stream.length - 25)]), stream.length - 25, 'section', /before the EOF marker/);
      expectStreamError(() => read([stream.subarray(0, stream.length - 3)]), stream.length - 24, 'VMDESCRIPTION', /inside VMDESCRIPTION record/);
    });

    it('wraps an exception thrown by a visitor, and stays failed', () => {
      const r = reader(recorder(), 'none', {
        onZero: () => {
          throw new TypeError('boom');
        },
      });
      const err = expectStreamError(() => r.push(stream), partBody + 4096 + 10, 'ram ZERO', /handler failed: boom/);
      expect(err.cause).toBeInstanceOf(TypeError);
      expect(() => r.push(new Uint8Array(1))).toThrow(err);
      expect(() => r.end()).toThrow(err);
    });

    // A hostile stream's sizes and counts are refused from the bytes that claim them: pushed without what they
    // announce, the reader refuses at once instead of waiting for (and buffering) it.
    describe('hostile sizes', () => {
      const pushOnly = (...parts: Uint8Array[]) => {
        const r = reader();
        return { r, run: () => r.push(concat(parts)) };
      };
      const head = prefix.subarray(0, memSizeAt);

      it('a 1 PiB MEM_SIZE total', () => {
        const { r, run } = pushOnly(head, hex('0004000000000004'));
        expectStreamError(run, memSizeAt, 'ram MEM_SIZE', /RAM size mismatch: stream has 1125899906842624 bytes \(0x4000000000000\), target has 20480/);
        expect(r.bufferedBytes).toBe(0);
      });

      it('a million RAM blocks announced in MEM_SIZE', () => {
        const entry = hex('01 61 0000000000003000');
        const million = new Uint8Array(entry.length * 1_000_000);
        for (let o = 0; o < million.length; o += entry.length) million.set(entry, o);
        const whole = pushOnly(head, hex('0000000000005004'), million);
        expectStreamError(whole.run, memSizeAt, 'ram MEM_SIZE', /ramblock "a" is listed twice/);
        // in socket-sized pieces: refused at the second entry, having held no more than two entries
        const r = reader();
        const stream = concat([head, hex('0000000000005004'), million]);
        let caught: unknown;
        try {
          for (let p = 0; p < stream.length; p += 4096) r.push(stream.subarray(p, p + 4096));
        } catch (e) {
          caught = e;
        }
        expect((caught as StreamError).message).toMatch(/ramblock "a" is listed twice/);
        expect(r.bytesReceived).toBeLessThanOrEqual(8192);
      });

      it('a 255-byte RAM block idstr of garbage, in MEM_SIZE and in a PAGE: escaped and cut short', () => {
        const garbage = Uint8Array.from({ length: 255 }, (_, i) => (i * 37 + 1) & 0xff);
        const inMemSize = expectStreamError(pushOnly(head, hex('0000000000005004 ff'), garbage, hex('0000000000003000')).run, memSizeAt, 'ram MEM_SIZE',
          /unknown ramblock ".*\.\.\. \(255 bytes\)", cannot accept migration/);
        const inPage = expectStreamError(pushOnly(prefix, hex('0000000000000008 ff'), garbage).run, partBody, 'ram PAGE', /unknown RAM block '.*\.\.\. \(255 bytes\)'/);
        for (const e of [inMemSize, inPage]) expect(e.message).toMatch(/^[ -~]*$/);
      });

      it('an impossible XBZRLE encoded length, refused before its data', () => {
        const { r, run } = pushOnly(prefix, hex('0000000000000040 01 61 01 ffff'));
        expectStreamError(run, partBody, 'ram XBZRLE', /XBZRLE data length 65535 exceeds the page size 4096/);
        expect(r.bufferedBytes).toBe(0);
      });
    });
  });
});
