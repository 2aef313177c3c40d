// mig-daemon as the target of broken QEMU streams: truncated at 20 places, a flipped header byte, wrong
// magic, MEM_SIZE larger than its RAM. Each load must end `failed` (never `completed`) with an
// error-desc naming the problem, the guest must never run, and the daemon must keep answering QMP.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
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
  type QueryMigrateReply,
} from '@mig/test-helpers';
import { mapStream, type StreamMap } from './stream-map.js';

const hasQemu = requireQemu();
const RAM_MIB = 64;

// What an error-desc must mention, per kind of damage (case-insensitive).
const TRUNCATED = /truncat|unexpected end|end of (the )?(stream|input|file|data)|eof|incomplete|short read|premature|ended/i;
const BAD_VERSION = /version/i;
const BAD_MAGIC = /magic|QEVM/i;
const TOO_LARGE = /mismatch|size|length|larger|exceed/i;

interface Outcome {
  reply: QueryMigrateReply;
  statusesSeen: Set<string>;
  runStatesSeen: Set<string>;
  stderr: string;
}

describe.skipIf(!hasQemu)(`mig-daemon loading broken streams${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  let dir = '';
  let stream = '';
  let map: StreamMap;
  let fileHash = '';

  beforeAll(async () => {
    dir = await tmpDir('mig-broken-');
    const ramFile = join(dir, 'src.ram');
    await fillRamFile(ramFile, RAM_MIB << 20, { seed: 2024, zeroFraction: 0.4 });
    fileHash = await sha256File(ramFile);
    const src = await launchVm({ kind: 'qemu', ramMiB: RAM_MIB, ramFile });
    stream = join(dir, 'good.stream');
    await startMigration(src, `exec:cat > ${stream}`);
    expect((await src.waitForMigration()).status).toBe('completed');
    await src.quit();
    map = mapStream(await readFile(stream));
  });
  afterEach(cleanupVms);
  afterAll(cleanupAll);

  /** Loads `uri` into a fresh mig-daemon (-incoming defer), watching query-migrate and query-status. */
  async function load(uri: string, ramMiB = RAM_MIB): Promise<Outcome> {
    const vm = await launchVm({ kind: 'mig', ramMiB, incoming: 'defer' });
    const statusesSeen = new Set<string>();
    const runStatesSeen = new Set<string>([await vm.runState()]);
    await vm.qmp.execute('migrate-incoming', { uri });
    const deadline = Date.now() + 60_000;
    let reply: QueryMigrateReply;
    for (;;) {
      reply = (await vm.qmp.execute('query-migrate')) as QueryMigrateReply;
      if (reply.status !== undefined) statusesSeen.add(reply.status);
      runStatesSeen.add(await vm.runState());
      if (reply.status === 'failed' || reply.status === 'completed' || reply.status === 'cancelled') break;
      if (Date.now() > deadline) throw new Error(`no terminal status in 60 s: ${JSON.stringify(reply)}`);
      await sleep(25);
    }
    // Still answering, and still not running, a moment later.
    await sleep(100);
    runStatesSeen.add(await vm.runState());
    const again = (await vm.qmp.execute('query-migrate')) as QueryMigrateReply;
    expect(again.status).toBe(reply.status);
    await vm.qmp.execute('query-migrate-parameters');
    return { reply, statusesSeen, runStatesSeen, stderr: vm.stderr };
  }

  function expectFailed(o: Outcome, desc: RegExp): void {
    const ctx = `${JSON.stringify(o.reply)} statuses=${[...o.statusesSeen]} runstates=${[...o.runStatesSeen]}\n${o.stderr}`;
    expect(o.reply.status, ctx).toBe('failed');
    expect(o.statusesSeen.has('completed'), ctx).toBe(false);
    expect(o.runStatesSeen.has('running'), ctx).toBe(false);
    expect(o.reply['error-desc'], ctx).toMatch(desc);
  }

  it('loads the intact stream (control: the damage below is what fails)', async () => {
    const vm = await launchVm({ kind: 'mig', ramMiB: RAM_MIB, incoming: 'defer' });
    await vm.qmp.execute('migrate-incoming', { uri: `exec:cat ${stream}` });
    expect((await vm.waitForMigration()).status).toBe('completed');
    expect(await vm.hashRam()).toBe(fileHash);
  });

  // 20 cut points, from inside the header to just before EOF.
  const cuts: Array<[string, (m: StreamMap) => number]> = [
    ['inside the magic', () => 2],
    ['inside the version', () => 6],
    ['inside the CONFIGURATION length', (m) => m.configuration + 3],
    ['inside the CONFIGURATION machine name', (m) => m.configurationName + 2],
    ['right after CONFIGURATION', (m) => m.ramStart],
    ['inside the ram SECTION_START header', (m) => m.ramStart + 8],
    ['inside the MEM_SIZE record', (m) => m.memSizeRecord + 4],
    ['inside the MEM_SIZE block idstr', (m) => m.memSizeIdstr + 2],
    ['inside the MEM_SIZE used_length', (m) => m.memSizeUsedLength + 3],
    ['before the first ZERO fill byte', (m) => m.zeros[0]!.fill],
    ['mid-page in the first PAGE', (m) => m.pages[0]!.data + 2048],
    ['inside a PAGE record header', (m) => m.pages[Math.floor(m.pages.length / 8)]!.record + 5],
    ['mid-page at a quarter of the stream', (m) => m.pages[Math.floor(m.pages.length / 4)]!.data + 1000],
    ['at a record boundary in the middle', (m) => m.pages[Math.floor(m.pages.length / 2)]!.record],
    ['mid-page at the end of a page', (m) => m.pages[Math.floor(m.pages.length / 2)]!.data + 4095],
    ['mid-page at three quarters', (m) => m.pages[Math.floor((m.pages.length * 3) / 4)]!.data + 1],
    ['inside the ram SECTION_END', (m) => m.sectionEnd + 3],
    ['inside the timer section', (m) => m.timer + 30],
    ['inside the globalstate section', (m) => m.globalstate + 40],
    ['just before EOF', (m) => m.eof],
  ];

  for (const [where, at] of cuts) {
    it(`fails on a stream truncated ${where}`, async () => {
      const n = at(map);
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(map.eof);
      expectFailed(await load(`exec:head -c ${n} ${stream}`), TRUNCATED);
    });
  }

  async function damaged(name: string, edit: (b: Buffer) => void): Promise<string> {
    const b = await readFile(stream);
    edit(b);
    const path = join(dir, name);
    await writeFile(path, b);
    return path;
  }

  it('fails on a flipped byte in the header (version)', async () => {
    const path = await damaged('flipped-version.stream', (b) => {
      b[7]! ^= 0xff;
    });
    expectFailed(await load(`exec:cat ${path}`), BAD_VERSION);
  });

  it('fails on a wrong magic', async () => {
    const path = await damaged('bad-magic.stream', (b) => {
      b.write('QEVN', 0, 'latin1');
    });
    expectFailed(await load(`exec:cat ${path}`), BAD_MAGIC);
  });

  it("fails on a MEM_SIZE larger than the target's RAM", async () => {
    expectFailed(await load(`exec:cat ${stream}`, RAM_MIB / 2), TOO_LARGE);
  });
});
