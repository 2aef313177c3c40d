// The systemd units in deploy/ pass `systemd-analyze verify` with no complaint at all (unknown keys and bad
// values are only warnings there, so any output fails), and say what the deployment relies on.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { QmpClient, migDaemonPath, tmpDir } from '@mig/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEPLOY = join(import.meta.dirname, '..', 'deploy');
const UNITS = ['mig-target@.service', 'mig-source@.service'];
const INSTALLED_BIN = '/usr/local/bin/mig-daemon';
const HOW_TO = 'systemd-analyze is missing: apt-get install systemd (CI installs it; this test never skips with CI=true)';
const haveAnalyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].some((p) => existsSync(p));
if (!haveAnalyze && process.env.CI) throw new Error(HOW_TO);
if (!haveAnalyze) console.warn(`skipping deploy-units: ${HOW_TO}`);

let dir = '';

async function verify(files: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)('systemd-analyze', ['verify', ...files]);
    return `${stdout}${stderr}`;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
  }
}

describe.skipIf(!haveAnalyze)('deploy/ systemd units', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mig-units-'));
    // verify checks that ExecStart's program exists: point it at the daemon's bin here, the rest verbatim
    const bin = join(import.meta.dirname, '..', 'bin', 'mig-daemon');
    for (const unit of UNITS) {
      const text = await readFile(join(DEPLOY, unit), 'utf8');
      await writeFile(join(dir, unit), text.replaceAll(INSTALLED_BIN, bin));
    }
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('systemd-analyze verify says nothing about either unit', async () => {
    expect(await verify(UNITS.map((u) => join(dir, u.replace('@', '@vm1'))))).toBe('');
  }, 60_000);

  it('a broken unit is reported (the check can fail)', async () => {
    const text = await readFile(join(dir, UNITS[0]!), 'utf8');
    await writeFile(join(dir, 'broken@.service'), text.replace('Restart=on-failure', 'Restart=sometimes'));
    expect(await verify([join(dir, 'broken@vm1.service')])).toMatch(/restart specifier/);
  }, 60_000);

  it('the QMP socket, restart policy, journal and ExecStart are what the README says', async () => {
    for (const unit of UNITS) {
      const text = await readFile(join(DEPLOY, unit), 'utf8');
      expect(text).toContain(`ExecStart=${INSTALLED_BIN} -name %i`);
      expect(text).toContain('-qmp unix:/run/mig/%i.qmp,server=on,wait=off');
      expect(text).toMatch(/^RuntimeDirectory=mig$/m);
      expect(text).toMatch(/^RuntimeDirectoryPreserve=yes$/m);
      expect(text).toMatch(/^Restart=on-failure$/m);
      expect(text).toMatch(/^StandardError=journal$/m);
      expect(text).toMatch(/^EnvironmentFile=\/etc\/mig\/%i\.env$/m);
    }
    expect(await readFile(join(DEPLOY, 'mig-target@.service'), 'utf8')).toContain('-incoming defer $MIG_DAEMON_ARGS');
    expect(await readFile(join(DEPLOY, 'mig-source@.service'), 'utf8')).not.toContain('-incoming');
    expect(await readFile(join(DEPLOY, 'mig.env'), 'utf8')).toMatch(/^MIG_DAEMON_ARGS=-machine none,memory-backend=mem0 /m);
  });
});


/** ExecStart's argv after `%i` and `$MIG_DAEMON_ARGS` (from mig.env) are expanded, as systemd does. */
async function execStartArgv(unit: string, instance: string, runDir: string, stateDir: string): Promise<string[]> {
  const text = await readFile(join(DEPLOY, unit), 'utf8');
  const line = /^ExecStart=(.*)$/m.exec(text)![1]!;
  const env = /^MIG_DAEMON_ARGS=(.*)$/m.exec(await readFile(join(DEPLOY, 'mig.env'), 'utf8'))![1]!;
  const words = line.replaceAll('%i', instance).split(/\s+/).flatMap((w) => (w === '$MIG_DAEMON_ARGS' ? env.split(/\s+/) : [w]));
  // the instance's env file names its RAM file after it; small RAM keeps the test light
  return words.slice(1).map((w) => w.replaceAll('NAME', instance).replaceAll('/run/mig/', `${runDir}/`)
    .replaceAll('/var/lib/mig/', `${stateDir}/`).replace(/^1G$/, '16M').replace('size=1G', 'size=16M'));
}

describe('the units\' command lines start mig-daemon as the README says', () => {
  for (const [unit, runstate] of [['mig-target@.service', 'inmigrate'], ['mig-source@.service', 'running']] as const) {
    it(`${unit}: QMP at /run/mig/NAME.qmp answers, guest ${runstate}`, async () => {
      const dir = await tmpDir('mig-unit-');
      const argv = await execStartArgv(unit, 'vm1', dir, dir);
      const child = spawn(migDaemonPath(), argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        const qmp = await QmpClient.connect(`unix:${dir}/vm1.qmp`, { waitForSocket: true, timeoutMs: 60_000 });
        expect((await qmp.queryStatus()).status).toBe(runstate);
        const exited = once(child, 'exit');
        await qmp.quit();
        expect((await exited)[0]).toBe(0);
        expect(stderr).toMatch(/^mig-daemon: ready /m);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }, 90_000);
  }
});
