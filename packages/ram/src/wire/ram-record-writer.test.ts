import { describe, expect, it } from 'vitest';
import { GuestRam } from '../memory/guest-ram.js';
import { createRamBlock } from '../memory/ram-block.js';
import { DirtyBitmap } from '@mig/core';
import { concat, hex, machineNoneSaver, RecordWriter } from '../../test/streams.js';

/** First 0x60 bytes of docs/qemu-samples/ram64-prelaunch (QEMU 7.2, -machine none -m 64M -S). */
const QEMU_SAMPLE_HEAD = hex(`
  51 45 56 4d 00 00 00 03 07 00 00 00 04 6e 6f 6e
  65 01 00 00 00 02 03 72 61 6d 00 00 00 00 00 00
  00 04 00 00 00 00 04 00 00 04 03 72 61 6d 00 00
  00 00 04 00 00 00 00 00 00 00 00 00 00 10 7e 00
  00 00 02 02 00 00 00 02 00 00 00 00 00 00 00 02
  03 72 61 6d 00 00 00 00 00 00 00 10 22 00 00 00`);

describe('ram records', () => {
  it('writes the framing records byte for byte as the format facts say', () => {
    const w = new RecordWriter();
    w.header();
    w.configuration('none');
    w.sectionStart(2, 'ram', 0, 4);
    w.ramMemSize([{ idstr: 'ram', usedLength: 0x4000000 }]);
    w.ramEos();
    w.footer(2);
    w.sectionPart(2);
    w.ramZero('ram', false, 0, 0);
    w.ramZero('ram', true, 0x1000, 0);
    w.sectionEnd(2);
    w.eof();
    const expected = hex(`
      5145564d 00000003                      # QEVM, version 3
      07 00000004 6e6f6e65                   # CONFIGURATION len 4 'none'
      01 00000002 03 72616d 00000000 00000004 # START id 2 'ram' inst 0 ver 4
      0000000004000004                       # 64 MiB | MEM_SIZE
      03 72616d 0000000004000000             # 'ram' used_length 64 MiB
      0000000000000010                       # EOS
      7e 00000002                            # footer
      02 00000002                            # PART id 2
      0000000000000002 03 72616d 00          # offset 0 | ZERO, idstr, fill 0
      0000000000001022 00                    # 0x1000 | ZERO | CONTINUE, fill 0
      03 00000002                            # END id 2
      00                                     # EOF
    `.replace(/#[^\n]*/g, ''));
    expect(Buffer.from(concat(w.drain())).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
  });

  it('writes PAGE and XBZRLE records with copied data, VMDESCRIPTION with its length', () => {
    const w = new RecordWriter();
    const mem = new Uint8Array(2 * 4096);
    mem.fill(0x5a, 4096);
    w.ramPage('mem0', false, 0x7000, mem, 4096);
    mem.fill(0); // the writer copied the page: later guest writes do not change the stream
    w.ramXbzrle('mem0', true, 0x8000, Uint8Array.of(9, 1, 2, 3), 1, 3);
    w.vmdesc('{}');
    const out = concat(w.drain());
    expect(out.length).toBe(8 + 5 + 4096 + 8 + 3 + 3 + 7);
    expect(Buffer.from(out.subarray(0, 13)).toString('hex')).toBe('0000000000007008' + '04' + Buffer.from('mem0').toString('hex'));
    expect(out.subarray(13, 13 + 4096).every((b) => b === 0x5a)).toBe(true);
    expect(Buffer.from(out.subarray(13 + 4096)).toString('hex')).toBe('0000000000008060' + '01' + '0003' + '010203' + '06' + '00000002' + '7b7d');
    expect(() => w.ramXbzrle('mem0', true, 0, new Uint8Array(5000), 0, 4097)).toThrow(RangeError);
  });

  it('keeps a page record in one chunk, allocating a new chunk when one fills, and never writes into drained bytes', () => {
    const w = new RecordWriter(8192);
    const page = new Uint8Array(4096).fill(1);
    w.ramPage('b', false, 0, page, 0);
    const first = w.drain();
    expect(first).toHaveLength(1);
    const snapshot = Buffer.from(first[0]!);
    w.ramPage('b', true, 4096, page.fill(2), 0); // does not fit behind the first: new chunk
    w.ramPage('b', true, 8192, page.fill(3), 0);
    const second = w.drain();
    expect(Buffer.from(first[0]!).equals(snapshot)).toBe(true);
    expect(second.length).toBe(2);
    expect(second.every((c) => c.buffer !== first[0]!.buffer)).toBe(true);
    expect(w.bytesWritten).toBe(4096 + 10 + 2 * (4096 + 8));
    expect(w.drain()).toEqual([]);
  });

  it('the savevm saver over a 64 MiB all-zero `ram` block starts with the same 0x60 bytes as QEMU 7.2', () => {
    const ram = new GuestRam([createRamBlock('ram', new Uint8Array(64 << 20))]);
    const { saver } = machineNoneSaver({ ram, dirty: new DirtyBitmap(ram.totalPages) });
    saver.setup();
    saver.syncDirty();
    saver.iterate(64);
    const head = concat(saver.drainOutput()).subarray(0, 0x60);
    expect(Buffer.from(head).toString('hex')).toBe(Buffer.from(QEMU_SAMPLE_HEAD).toString('hex'));
  });
});
