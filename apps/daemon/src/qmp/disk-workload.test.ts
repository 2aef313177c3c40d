import { describe, expect, it, vi } from 'vitest';
import type { DiskWorkloadConfig } from '../guest/disk-workload-config.js';
import { DiskWorkloadError } from '../guest/disk-workloads.js';
import { call, qmpErrorOf } from '../../test/qmp-call.js';
import { diskWorkloadHandlers, type DiskWorkloadControl } from './disk-workload.js';

const MiB = 1 << 20;

function fakeWorkload(config?: DiskWorkloadConfig) {
  const w = {
    config,
    drive: { id: 'd0', size: 16 * MiB },
    configure: vi.fn((c: DiskWorkloadConfig) => {
      w.config = c;
    }),
    start: vi.fn(),
    stop: vi.fn(),
  };
  return w;
}

function handlers(w: ReturnType<typeof fakeWorkload> | undefined) {
  const workloads = {
    get: (id: string) => (id === 'd0' ? w : undefined),
    of: (id: string) => {
      if (id === 'r0') throw new DiskWorkloadError("drive 'r0' is read-only");
      if (id !== 'd0' || w === undefined) throw new DiskWorkloadError(`there is no drive '${id}' (drives: d0, r0)`);
      return w;
    },
    info: () => [{ drive: 'd0' }],
  } as unknown as DiskWorkloadControl['workloads'];
  return diskWorkloadHandlers({ workloads });
}

describe('x-mig-disk-workload', () => {
  it('configures with the defaults filled, and starts on action start', () => {
    const w = fakeWorkload();
    call(handlers(w)['x-mig-disk-workload'], { drive: 'd0', action: 'start', rate: 4 * MiB, block: 4096 });
    expect(w.configure).toHaveBeenCalledWith({ rate: 4 * MiB, offset: 0, length: 16 * MiB, pattern: 'random', block: 4096 });
    expect(w.start).toHaveBeenCalledOnce();
  });

  it('set changes only what is given; a new offset without a length takes the rest of the drive', () => {
    const w = fakeWorkload({ rate: MiB, offset: MiB, length: 2 * MiB, pattern: 'sparse', block: 4096 });
    const h = handlers(w);
    call(h['x-mig-disk-workload'], { drive: 'd0', action: 'set', pattern: 'zero' });
    expect(w.config).toEqual({ rate: MiB, offset: MiB, length: 2 * MiB, pattern: 'zero', block: 4096 });
    call(h['x-mig-disk-workload'], { drive: 'd0', action: 'set', offset: 8 * MiB });
    expect(w.config).toMatchObject({ offset: 8 * MiB, length: 8 * MiB });
    expect(w.start).not.toHaveBeenCalled();
  });

  it('stop stops the drive\'s workload (nothing to do for a drive without one)', () => {
    const w = fakeWorkload();
    call(handlers(w)['x-mig-disk-workload'], { drive: 'd0', action: 'stop' });
    call(handlers(w)['x-mig-disk-workload'], { drive: 'd9', action: 'stop' });
    expect(w.stop).toHaveBeenCalledOnce();
    expect(w.configure).not.toHaveBeenCalled();
  });

  it('names an unknown or read-only drive, a missing rate and a region outside the drive', async () => {
    const h = handlers(fakeWorkload());
    const run = (args: object) => qmpErrorOf(() => call(h['x-mig-disk-workload'], args));
    expect(await run({ drive: 'x', action: 'start', rate: 1 })).toBe("GenericError: x-mig-disk-workload: there is no drive 'x' (drives: d0, r0)");
    expect(await run({ drive: 'r0', action: 'start', rate: 1 })).toBe("GenericError: x-mig-disk-workload: drive 'r0' is read-only");
    expect(await run({ drive: 'd0', action: 'start' })).toBe("GenericError: x-mig-disk-workload: give 'rate' (bytes per second) first");
    expect(await run({ drive: 'd0', action: 'start', rate: 1, offset: 0, length: 32 * MiB })).toBe(
      'GenericError: x-mig-disk-workload: region [0, 33554432) is outside the drive of 16777216 bytes',
    );
  });

  it('x-mig-query-disk-workload lists the workloads', () => {
    expect(call(handlers(fakeWorkload())['x-mig-query-disk-workload'])).toEqual([{ drive: 'd0' }]);
  });
});
