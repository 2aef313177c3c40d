import { describe, expect, it, vi } from 'vitest';
import type { WorkloadConfig } from '../guest/workload-config.js';
import { call, qmpErrorOf } from '../../test/qmp-call.js';
import { workloadHandlers, type WorkloadControl } from './workload.js';

const MiB = 1 << 20;

function fakeWorkload(config?: WorkloadConfig) {
  const w = {
    config,
    configure: vi.fn((c: WorkloadConfig) => {
      w.config = c;
    }),
    start: vi.fn(),
    stop: vi.fn(),
    info: vi.fn(() => ({ active: false }) as never),
  };
  return w;
}

function handlers(w: ReturnType<typeof fakeWorkload>) {
  return workloadHandlers({ workload: w as unknown as WorkloadControl['workload'], ramSize: 64 * MiB });
}

describe('workload handlers', () => {
  it('configures with the defaults filled, and starts on action start', () => {
    const w = fakeWorkload();
    call(handlers(w)['x-mig-workload'], { action: 'start', 'dirty-rate': 8 * MiB, wss: 16 * MiB });
    expect(w.configure).toHaveBeenCalledWith({ dirtyRate: 8 * MiB, wss: 16 * MiB, offset: 0, pattern: 'sparse' });
    expect(w.start).toHaveBeenCalledOnce();
  });

  it('changes only what is given, keeping the rest of the current settings', () => {
    const w = fakeWorkload({ dirtyRate: 8 * MiB, wss: 16 * MiB, offset: 4096, pattern: 'random' });
    call(handlers(w)['x-mig-workload'], { action: 'set', pattern: 'zero' });
    expect(w.configure).toHaveBeenCalledWith({ dirtyRate: 8 * MiB, wss: 16 * MiB, offset: 4096, pattern: 'zero' });
    expect(w.start).not.toHaveBeenCalled();
  });

  it('stop stops, whatever else is given', () => {
    const w = fakeWorkload();
    call(handlers(w)['x-mig-workload'], { action: 'stop' });
    expect(w.stop).toHaveBeenCalledOnce();
    expect(w.configure).not.toHaveBeenCalled();
  });

  it('names a missing rate and a working set outside RAM', async () => {
    const h = handlers(fakeWorkload());
    expect(await qmpErrorOf(() => call(h['x-mig-workload'], { action: 'start' }))).toBe("GenericError: x-mig-workload: give 'dirty-rate' (bytes of pages per second) first");
    expect(await qmpErrorOf(() => call(h['x-mig-workload'], { action: 'start', 'dirty-rate': MiB, wss: 128 * MiB })))
      .toBe('GenericError: x-mig-workload: working set [0x0, 0x8000000) is outside guest RAM of 67108864 bytes');
  });

  it('x-mig-query-workload is the workload info', () => {
    const w = fakeWorkload();
    expect(call(handlers(w)['x-mig-query-workload'])).toEqual({ active: false });
  });
});
