// QEMU's XBZRLE vectors through the stream reader and loader (not only the bare codec): for every vector a ram
// section carries the old page as PAGE, then QEMU's encoding as an XBZRLE record; the loaded page must be the
// new page, and an overflow vector (-1: QEMU sends the page whole) loads as a PAGE.
import { describe, expect, it } from 'vitest';
import { createRamBlock, GuestRam, PAGE_SIZE, xbzrleDecode } from '../src/index.js';
import { MachineNoneLoader, RecordWriter } from './streams.js';
import { loadVectors } from './qemu-vectors.js';

const RAM = createRamBlock('ram', new Uint8Array(PAGE_SIZE * 64));

describe(`XBZRLE vectors through StreamLoader`, () => {
  it('every vector loads to its new page', () => {
    const vectors = loadVectors();
    expect(vectors.length).toBe(3059);
    const target = new Uint8Array(PAGE_SIZE * 64);
    const loader = new MachineNoneLoader({ ram: new GuestRam([createRamBlock('ram', target)]),
      onXbzrle: (dest, destOffset, src, srcOffset, len) => {
        xbzrleDecode(src, srcOffset, len, dest, destOffset, PAGE_SIZE);
      },
    });
    const w = new RecordWriter();
    w.header();
    w.configuration('none');
    w.sectionStart(2, 'ram', 0, 4);
    w.ramMemSize([{ idstr: 'ram', usedLength: RAM.usedLength }]);
    w.ramEos();
    w.footer(2);
    loader.push(Buffer.concat(w.drain()));
    for (let start = 0; start < vectors.length; start += 64) {
      const batch = vectors.slice(start, start + 64);
      w.sectionPart(2);
      batch.forEach((v, slot) => {
        w.ramPage('ram', slot > 0, slot * PAGE_SIZE, v.old, 0);
        if (v.encLen > 0) w.ramXbzrle('ram', true, slot * PAGE_SIZE, v.enc, 0, v.encLen);
        else if (v.encLen < 0) w.ramPage('ram', true, slot * PAGE_SIZE, v.neu, 0);
      });
      w.ramEos();
      w.footer(2);
      loader.push(Buffer.concat(w.drain()));
      batch.forEach((v, slot) => {
        const page = target.subarray(slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE);
        expect(Buffer.compare(page, v.neu), `vector ${v.index}`).toBe(0);
      });
    }
    expect(loader.ram.xbzrlePages).toBe(vectors.filter((v) => v.encLen > 0).length);
  });
});
