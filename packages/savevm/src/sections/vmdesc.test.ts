import { describe, expect, it } from 'vitest';
import { GlobalStateSaveSection } from './globalstate.js';
import { TimerSaveSection } from './timer.js';
import { vmdescJson } from './vmdesc.js';

/** The VMDESCRIPTION of docs/qemu-samples/ram64-prelaunch (QEMU 7.2, -machine none; 0x1e6 = 486 bytes). */
const QEMU_SAMPLE_VMDESC =
  '{"page_size": 4096, "devices": [{"name": "timer", "instance_id": 0, "vmsd_name": "timer", "version": 2, ' +
  '"fields": [{"name": "cpu_ticks_offset", "type": "int64", "size": 8}, {"name": "unused", "type": "unused_buffer", "size": 8}, ' +
  '{"name": "cpu_clock_offset", "type": "int64", "size": 8}]}, {"name": "globalstate", "instance_id": 0, "vmsd_name": "globalstate", ' +
  '"version": 1, "fields": [{"name": "size", "type": "uint32", "size": 4}, {"name": "runstate", "type": "buffer", "size": 100}]}]}';

describe('vmdesc', () => {
  it('describes timer and globalstate exactly as QEMU 7.2 does', () => {
    const devices = [new TimerSaveSection().vmdesc(), new GlobalStateSaveSection().vmdesc()];
    expect(vmdescJson(4096, devices)).toBe(QEMU_SAMPLE_VMDESC);
    expect(QEMU_SAMPLE_VMDESC.length).toBe(0x1e6);
  });
});
