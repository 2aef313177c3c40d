// RAMBlock names as QEMU gives them: `ram` for plain -m, the backend id with -machine memory-backend=. Streams
// between QEMU 7.2 and mig-daemon load only when both ends name (and size) the block alike.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupVms, launchVm, QEMU_SKIP_MESSAGE, requireQemu, tmpDir } from '@mig/test-helpers';
import { join } from 'node:path';

const hasQemu = requireQemu();

describe.skipIf(!hasQemu)(`RAMBlock names${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupVms);

  it('plain -m on both ends: QEMU 7.2 → mig-daemon and back load the block `ram`', async () => {
    for (const [src, dst] of [['qemu', 'mig'], ['mig', 'qemu']] as const) {
      const dir = await tmpDir('mig-ramblock-');
      const uri = `unix:${join(dir, 'm.sock')}`;
      const target = await launchVm({ kind: dst, ramMiB: 16, plainRam: true, incoming: uri, dir });
      const source = await launchVm({ kind: src, ramMiB: 16, plainRam: true, dir });
      await source.qmp.execute('migrate', { uri });
      expect((await source.waitForMigration()).status, `${src} → ${dst}`).toBe('completed');
      expect((await target.waitForMigration()).status, `${src} → ${dst}`).toBe('completed');
      expect(await target.hashRam()).toBe(await source.hashRam());
    }
  });

  it('a QEMU stream of block `ram` into a mig-daemon whose block is `mem0` fails, naming the block', async () => {
    const dir = await tmpDir('mig-ramblock-');
    const uri = `unix:${join(dir, 'm.sock')}`;
    const target = await launchVm({ kind: 'mig', ramMiB: 16, incoming: uri, dir });
    const source = await launchVm({ kind: 'qemu', ramMiB: 16, plainRam: true, dir });
    await source.qmp.execute('migrate', { uri });
    const reply = await target.waitForMigration();
    expect(reply.status).toBe('failed');
    expect(reply['error-desc']).toContain('unknown ramblock "ram"');
    expect(await target.runState()).toBe('inmigrate');
  });
});
