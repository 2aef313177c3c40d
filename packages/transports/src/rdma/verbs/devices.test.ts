import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../errors.js';
import { hasRdmaDevice, listRdmaDevices, requireRdmaDevice } from './devices.js';

// What the kernel shows: a machine with an RDMA device (or soft-RoCE) has /sys/class/infiniband entries.
const kernelHasDevices = existsSync('/sys/class/infiniband');

describe('RDMA devices', () => {
  it('libibverbs lists the devices the kernel has (here: none unless /sys/class/infiniband exists)', () => {
    const found = listRdmaDevices();
    expect(found.devices.length > 0).toBe(kernelHasDevices);
    expect(hasRdmaDevice()).toBe(kernelHasDevices);
    for (const name of found.devices) expect(name).toMatch(/^\S+$/);
  });

  it.skipIf(kernelHasDevices)('without a device, requireRdmaDevice fails at once naming the URI', () => {
    const started = performance.now();
    let error: unknown;
    try {
      requireRdmaDevice('rdma:127.0.0.1:4444');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).message).toBe('rdma:127.0.0.1:4444: no RDMA device was found (libibverbs lists none)');
    expect((error as TransportError).endpoint).toBe('rdma:127.0.0.1:4444');
    expect(performance.now() - started).toBeLessThan(1000); // a bound against a hang, not a speed claim
  });

  it.skipIf(!kernelHasDevices)('with a device, requireRdmaDevice names it', () => {
    expect(requireRdmaDevice('rdma:127.0.0.1:4444').length).toBeGreaterThan(0);
  });
});
