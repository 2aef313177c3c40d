import { describe, expect, it } from 'vitest';
import { fakeVm } from './fake-vm.js';
import { QEMU_BLOCK_SOURCE_DOWNTIME_LIMIT_MS, startMigration } from './migrate.js';

describe('startMigration', () => {
  it('sets only max-bandwidth, then migrates with the uri alone, for a RAM migration', async () => {
    const { vm, calls } = fakeVm('qemu');
    await startMigration(vm, 'unix:/s');
    expect(calls).toEqual([
      { name: 'migrate-set-parameters', args: { 'max-bandwidth': 1 << 30 } },
      { name: 'migrate', args: { uri: 'unix:/s' } },
    ]);
  });

  it('gives a QEMU block source the 1 ms downtime limit that makes it send the whole disk', async () => {
    const { vm, calls } = fakeVm('qemu');
    await startMigration(vm, 'unix:/s', { blk: true, capabilities: ['zero-blocks'], maxBandwidth: 1 << 20 });
    expect(calls).toEqual([
      { name: 'migrate-set-capabilities', args: { capabilities: [{ capability: 'zero-blocks', state: true }] } },
      { name: 'migrate-set-parameters', args: { 'max-bandwidth': 1 << 20, 'downtime-limit': QEMU_BLOCK_SOURCE_DOWNTIME_LIMIT_MS } },
      { name: 'migrate', args: { uri: 'unix:/s', blk: true } },
    ]);
    const inc = fakeVm('qemu');
    await startMigration(inc.vm, 'unix:/s', { inc: true, downtimeLimitMs: 300 });
    expect(inc.calls[0]).toEqual({ name: 'migrate-set-parameters', args: { 'max-bandwidth': 1 << 30, 'downtime-limit': 300 } });
    expect(inc.calls[1]).toEqual({ name: 'migrate', args: { uri: 'unix:/s', inc: true } });
  });

  it('leaves the downtime limit of a mig-daemon block source alone', async () => {
    const { vm, calls } = fakeVm('mig');
    await startMigration(vm, 'tcp:127.0.0.1:1', { blk: true });
    expect(calls[0]).toEqual({ name: 'migrate-set-parameters', args: { 'max-bandwidth': 1 << 30 } });
  });
});
