// The RAM control seam on its own: a recording hook that takes block 0's pages and leaves block 1's.
import { describe, expect, it } from 'vitest';
import type { RamControlOutput, RamControlPhase, RamSaveControl } from '@mig/core';
import { SavevmSaver, StreamReader } from '@mig/savevm';
import { createRamBlock, DirtyBitmap, GuestRam } from '../memory/index.js';
import { RamLoader } from './ram-loader.js';
import { RamSaveSection } from './ram-save-section.js';

const PAGE = 4096;

class RecordingControl implements RamSaveControl {
  readonly calls: string[] = [];
  readonly taken: [number, number][] = [];
  beforeIterate(out: RamControlOutput, phase: RamControlPhase): void {
    this.calls.push(`before ${phase}`);
    out.be64(0x80);
  }
  afterIterate(_out: RamControlOutput, phase: RamControlPhase): void {
    this.calls.push(`after ${phase}`);
  }
  savePage(block: number, offset: number): boolean {
    if (block !== 0) return false;
    this.taken.push([block, offset]);
    return true;
  }
}

function ram(fill: number): GuestRam {
  return new GuestRam([
    createRamBlock('pc.ram', new Uint8Array(16 * PAGE).fill(fill)),
    createRamBlock('vga', new Uint8Array(4 * PAGE).fill(fill), 0x100000),
  ]);
}

describe('RAM control hooks', () => {
  it("count what the hook reports sent: written as normal pages and transferred, zero bytes as duplicate", () => {
    const control = new RecordingControl();
    const sent = { writtenBytes: 0, zeroBytes: 0 };
    Object.assign(control, { sent });
    const source = ram(7);
    const section = new RamSaveSection({ ram: source, dirty: source.blocks.map((b) => new DirtyBitmap(b.usedLength / PAGE)), control });
    const saver = new SavevmSaver({ machine: 'none', sections: [section] });
    saver.setup();
    saver.syncDirty();
    saver.iterate(6 * PAGE); // six of block 0's pages taken
    expect([section.normalPages, section.zeroPages, section.controlBytesTaken, saver.controlBytesTaken]).toEqual([0, 0, 6 * PAGE, 6 * PAGE]);
    while (saver.pendingBytes(0) > 0) saver.iterate(1 << 20); // the other ten taken, vga's four as records
    const streamRam = section.ramTransferredBytes;
    expect([section.normalPages, section.zeroPages, section.controlBytesTaken]).toEqual([4, 0, 16 * PAGE]);
    // the hook wrote one page and sent one as a zero mark (RDMA COMPRESS)
    sent.writtenBytes = PAGE;
    sent.zeroBytes = PAGE;
    expect([section.normalPages, section.zeroPages, section.normalBytes]).toEqual([5, 1, 5 * PAGE]);
    expect(section.transferredBytes).toBe(streamRam + PAGE + 16); // and 1 byte per taken page (control_save_page)
    expect([section.controlBytesSent, saver.controlBytesSent]).toEqual([PAGE, PAGE]);
  });

  it('run around every body; the pages they take get no record and count against the budget', () => {
    const control = new RecordingControl();
    const source = ram(7);
    const section = new RamSaveSection({ ram: source, dirty: source.blocks.map((b) => new DirtyBitmap(b.usedLength / PAGE)), control });
    const saver = new SavevmSaver({ machine: 'none', sections: [section] });
    saver.setup();
    saver.syncDirty();
    saver.iterate(4 * PAGE); // block 0's pages count: the round stops after four of them
    expect(control.taken).toHaveLength(4);
    while (saver.pendingBytes(0) > 0) saver.iterate(1 << 20);
    saver.complete('running');
    expect(control.calls).toEqual(['before setup', 'after setup', 'before round', 'after round', 'before round', 'after round', 'before finish', 'after finish']);
    expect([section.controlPages, section.normalPages]).toEqual([16, 4]);

    const loaded: string[] = [];
    let hooks = 0;
    const target = ram(0);
    const loader = new RamLoader({ ram: target, control: { onHook: () => hooks++, onBlockRegistered: (id) => loaded.push(id) } });
    const reader = new StreamReader({ machine: 'none', sections: [loader.section] });
    const stream = Buffer.concat(saver.drainOutput());
    for (let i = 0; i < stream.length; i += 7) reader.push(stream.subarray(i, i + 7)); // MEM_SIZE split: still once per block
    reader.end();
    expect([hooks, loader.normalPages]).toEqual([4, 4]);
    expect(loaded).toEqual(['pc.ram', 'vga']);
    expect(Buffer.compare(target.blocks[1]!.bytes, source.blocks[1]!.bytes)).toBe(0);
  });

  it('a load hook that fails is a stream error at the record', () => {
    const source = ram(1);
    const control = new RecordingControl();
    const saver = new SavevmSaver({ machine: 'none', sections: [new RamSaveSection({ ram: source, dirty: source.blocks.map((b) => new DirtyBitmap(b.usedLength / PAGE)), control })] });
    saver.setup();
    const loader = new RamLoader({ ram: ram(0), control: { onHook: () => undefined, onBlockRegistered: (id) => { throw new Error(`RAMBlock '${id}' not found on destination`); } } });
    const reader = new StreamReader({ machine: 'none', sections: [loader.section] });
    expect(() => reader.push(Buffer.concat(saver.drainOutput()))).toThrow(/ram MEM_SIZE.*RAMBlock 'pc.ram' not found on destination|RAMBlock 'pc.ram' not found on destination/);
  });
});
