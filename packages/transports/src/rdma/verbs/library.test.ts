import { describe, expect, it } from 'vitest';
import { CmEventChannel } from './cm-events.js';
import { hasRdmaDevice } from './devices.js';
import { loadVerbs } from './library.js';

describe('the verbs library through koffi', () => {
  it('binds every function of libibverbs, librdmacm and libc it uses, and the ops-table prototypes', () => {
    const verbs = loadVerbs();
    const functions = Object.entries(verbs).filter(([name]) => name !== 'koffi' && name !== 'protos');
    expect(functions.length).toBeGreaterThan(30);
    for (const [name, fn] of functions) expect(typeof fn, name).toBe('function');
    expect(Object.values(verbs.protos).every((proto) => proto !== undefined && proto !== null)).toBe(true);
    expect(loadVerbs()).toBe(verbs); // loaded once
  });

  it('addressOf gives the address of a typed array, its byte offset included', () => {
    const verbs = loadVerbs();
    const bytes = new Uint8Array(new SharedArrayBuffer(8192));
    expect(verbs.addressOf(bytes.subarray(4096)) - verbs.addressOf(bytes)).toBe(4096);
  });

  it.skipIf(hasRdmaDevice())('without RDMA in the kernel, the event channel cannot be made (and says so)', () => {
    expect(() => new CmEventChannel(loadVerbs())).toThrow(/^rdma_create_event_channel failed: errno \d+$/);
  });
});
