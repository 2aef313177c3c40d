// The target's run state after loading a QEMU stream must be what QEMU 7.2 itself shows as the target in
// the same situation. QEMU → QEMU runs first to learn the expected state for each combination.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  cleanupVms,
  fillRamFile,
  launchVm,
  QEMU_SKIP_MESSAGE,
  requireQemu,
  sha256File,
  startMigration,
  tmpDir,
  type VmKind,
} from '@mig/test-helpers';

const hasQemu = requireQemu();
const RAM_MIB = 32;

type SourceState = 'prelaunch' | 'running';
interface Observed {
  status: string;
  running: boolean;
  ramHash: string;
}

describe.skipIf(!hasQemu)(`run state after loading a QEMU stream${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  const streams = new Map<SourceState, string>();
  const expected = new Map<string, Observed>();
  let fileHash = '';

  async function loadInto(kind: VmKind, from: SourceState, targetPaused: boolean): Promise<Observed> {
    const target = await launchVm({ kind, ramMiB: RAM_MIB, incoming: 'defer', paused: targetPaused });
    await target.qmp.execute('migrate-incoming', { uri: `exec:cat ${streams.get(from)!}` });
    const reply = await target.waitForMigration();
    expect(reply.status, `${kind} target: ${JSON.stringify(reply)}\n${target.stderr}`).toBe('completed');
    const st = (await target.qmp.execute('query-status')) as { status: string; running: boolean };
    const observed = { status: st.status, running: st.running, ramHash: await target.hashRam() };
    await target.quit();
    return observed;
  }

  beforeAll(async () => {
    const dir = await tmpDir('mig-runstate-');
    const ramFile = join(dir, 'src.ram');
    await fillRamFile(ramFile, RAM_MIB << 20, { seed: 42, zeroFraction: 0.5 });
    fileHash = await sha256File(ramFile);
    for (const state of ['prelaunch', 'running'] as const) {
      const src = await launchVm({ kind: 'qemu', ramMiB: RAM_MIB, ramFile, paused: state === 'prelaunch' });
      expect(await src.runState()).toBe(state);
      const stream = join(dir, `${state}.stream`);
      await startMigration(src, `exec:cat > ${stream}`);
      expect((await src.waitForMigration()).status).toBe('completed');
      await src.quit();
      streams.set(state, stream);
    }
    for (const from of ['prelaunch', 'running'] as const) {
      for (const paused of [true, false]) {
        expected.set(`${from}/${paused}`, await loadInto('qemu', from, paused));
      }
    }
  });
  afterEach(cleanupVms);
  afterAll(cleanupAll);

  it('QEMU 7.2 → QEMU 7.2 gives the states QEMU documents (harness check)', () => {
    // QEMU resumes only when the stream says running and the target has no -S; otherwise a running
    // stream leaves the target paused, and a prelaunch stream leaves it in prelaunch.
    expect(expected.get('prelaunch/true')?.status).toBe('prelaunch');
    expect(expected.get('prelaunch/false')?.status).toBe('prelaunch');
    expect(expected.get('running/true')?.status).toBe('paused');
    expect(expected.get('running/false')).toMatchObject({ status: 'running', running: true });
    for (const o of expected.values()) expect(o.ramHash).toBe(fileHash);
  });

  for (const from of ['prelaunch', 'running'] as const) {
    for (const paused of [true, false]) {
      it(`mig-daemon target${paused ? ' with -S' : ''}, stream from a ${from} QEMU source`, async () => {
        const want = expected.get(`${from}/${paused}`)!;
        const got = await loadInto('mig', from, paused);
        expect({ status: got.status, running: got.running }).toEqual({ status: want.status, running: want.running });
        expect(got.ramHash).toBe(fileHash);
      });
    }
  }
});
