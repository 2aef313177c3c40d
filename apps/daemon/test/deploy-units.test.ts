// The systemd units in deploy/ pass `systemd-analyze verify` with no complaint at all (unknown keys and bad
// values are only warnings there, so any output fails), and say what the deployment relies on.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

