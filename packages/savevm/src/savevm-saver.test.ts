import { describe, expect, it } from 'vitest';
import { CounterLoadSection, CounterSaveSection, COUNTER_ITEM_BYTES } from './testing/counter-section.js';
import { GlobalStateLoadSection, GlobalStateSaveSection } from './sections/globalstate.js';
import { TimerLoadSection, TimerSaveSection } from './sections/timer.js';
import { SavevmSaver } from './savevm-saver.js';
import { StreamReader, type FramingObserver } from './wire/stream-reader.js';

function framingEvents(): { events: string[]; observer: FramingObserver } {
  const events: string[] = [];
  return {
    events,
    observer: {
      onSectionStart: (id, s) => events.push(`start ${id} ${s}`),
      onSectionFull: (id, s) => events.push(`full ${id} ${s}`),
      onSectionPart: (id) => events.push(`part ${id}`),
      onSectionEnd: (id) => events.push(`end ${id}`),
      onEof: () => events.push('eof'),
    },
  };
}

function twoCounters(a = 10, b = 10) {
  const first = new CounterSaveSection(a, { sectionId: 1 });
  const second = new CounterSaveSection(b, { sectionId: 2 });
  Object.defineProperty(second, 'idstr', { value: 'x-test-counter-2' });
  const saver = new SavevmSaver({
    machine: 'none',
    sections: [new TimerSaveSection(), first, second, new GlobalStateSaveSection()],
  });
  return { first, second, saver };
}

describe('SavevmSaver', () => {
  it('walks the iterative sections in order within one budget, and a section that stops at the budget ends the walk', () => {
    const { first, second, saver } = twoCounters(10, 10);
    saver.setup();
    // 5 items of the first section fit a budget of 5 items: it stops there, the second gets nothing
    saver.iterate(5 * COUNTER_ITEM_BYTES);
    expect([first.next, second.next]).toEqual([5, 0]);
    // a large budget: the first finishes, then the second gets what is left
    saver.iterate(8 * COUNTER_ITEM_BYTES);
    expect([first.next, second.next]).toEqual([10, 3]);
    // the first has nothing pending: no SECTION_PART for it
    saver.drainOutput();
    saver.iterate(100 * COUNTER_ITEM_BYTES);
    expect([first.next, second.next]).toEqual([10, 10]);
    const part = Buffer.concat(saver.drainOutput());
    expect(part.subarray(0, 5).toString('hex')).toBe('0200000002'); // SECTION_PART of section 2
    expect(part.length).toBe(5 + 7 * COUNTER_ITEM_BYTES + 4 + 5);
    expect(saver.pendingBytes(123)).toBe(0);
    expect(first.lastThreshold).toBe(123);
  });

  it('writes START at setup, PART per iteration, END then FULL sections at complete, and a loader takes it all', () => {
    const { saver } = twoCounters(6, 4);
    saver.setup();
    while (saver.pendingBytes() > 2 * COUNTER_ITEM_BYTES) saver.iterate(3 * COUNTER_ITEM_BYTES);
    saver.complete('running');
    const a = new CounterLoadSection();
    const b = new CounterLoadSection();
    Object.defineProperty(b, 'idstr', { value: 'x-test-counter-2' });
    const gs = new GlobalStateLoadSection();
    const { events, observer } = framingEvents();
    const reader = new StreamReader({ machine: 'none', sections: [a, b, new TimerLoadSection(), gs], observer });
    for (const c of saver.drainOutput()) reader.push(c);
    reader.end();
    expect(a.values).toEqual([0, 1, 2, 3, 4, 5].map((i) => i * 1000 + 7));
    expect(b.values).toEqual([0, 1, 2, 3].map((i) => i * 1000 + 7));
    expect(gs.runstate).toBe('running');
    expect(events).toEqual([
      'start 1 x-test-counter', 'start 2 x-test-counter-2',
      'part 1', 'part 1', 'part 2', // the first's second PART used the whole budget: the second waits
      'end 1', 'end 2', 'full 0 timer', 'full 4 globalstate', 'eof',
    ]);
    expect(saver.streamBytes).toBe(reader.bytesReceived);
  });

  it('leaves out an inactive section entirely and syncs only active ones', () => {
    const off = new CounterSaveSection(5, { sectionId: 1, active: false });
    const on = new CounterSaveSection(2, { sectionId: 3 });
    Object.defineProperty(on, 'idstr', { value: 'on' });
    const saver = new SavevmSaver({ machine: 'none', sections: [off, on, new GlobalStateSaveSection()] });
    saver.setup();
    saver.syncDirty();
    expect(saver.pendingBytes()).toBe(2 * COUNTER_ITEM_BYTES);
    saver.complete('paused');
    expect([off.syncs, on.syncs]).toEqual([0, 2]);
    const { events, observer } = framingEvents();
    const onLoad = new CounterLoadSection();
    Object.defineProperty(onLoad, 'idstr', { value: 'on' });
    const reader = new StreamReader({ machine: 'none', sections: [onLoad, new GlobalStateLoadSection()], observer });
    for (const c of saver.drainOutput()) reader.push(c);
    reader.end();
    expect(events).toEqual(['start 3 on', 'end 3', 'full 4 globalstate', 'eof']);
  });

  it('refuses two sections with one id, calls out of order, and an unknown runstate', () => {
    expect(() => new SavevmSaver({ machine: 'none', sections: [new TimerSaveSection(2), new CounterSaveSection(1, { sectionId: 2 })] })).toThrow(/section id 2 is used twice/);
    expect(() => new SavevmSaver({ machine: 'none', sections: [new TimerSaveSection(0), new TimerSaveSection(1)] })).toThrow(/registered twice/);
    const saver = new SavevmSaver({ machine: 'none', sections: [new CounterSaveSection(1)] });
    expect(() => saver.iterate(10)).toThrow(/before setup/);
    saver.setup();
    expect(() => saver.setup()).toThrow(/twice/);
    expect(() => saver.complete('flying')).toThrow(/unknown runstate 'flying'/);
    saver.complete('running');
    expect(() => saver.iterate(10)).toThrow(/after complete/);
  });

  it('passes over a section waiting for its I/O (no PART for it), and says when it is ready once nothing could be written', async () => {
    const { first, second, saver } = twoCounters(4, 4);
    let release!: () => void;
    let gate: Promise<void> | undefined = new Promise<void>((r) => (release = r));
    Object.assign(first, { whenReady: () => gate });
    saver.setup();
    saver.drainOutput();
    // the first waits: the second gets the link meanwhile
    expect(saver.iterate(1000)).toBeGreaterThan(0);
    expect([first.next, second.next]).toEqual([0, 4]);
    expect(Buffer.concat(saver.drainOutput()).subarray(0, 5).toString('hex')).toBe('0200000002');
    expect(saver.whenReady()).toBeUndefined();
    // now nothing can be written: the saver hands out what the first waits for
    expect(saver.iterate(1000)).toBe(0);
    expect(saver.drainOutput()).toEqual([]);
    const ready = saver.whenReady();
    expect(ready).toBe(gate);
    release();
    await ready;
    gate = undefined;
    expect(saver.iterate(1000)).toBeGreaterThan(0);
    expect(saver.whenReady()).toBeUndefined();
    expect([first.next, second.next]).toEqual([4, 4]);
  });
});
