// `mig migrate` and `mig status` as people and scripts use them, between QEMU 7.2 and mig-daemon both ways:
// --json parsed, RAM equal at both ends, the live bar seen in a terminal (tmux, or a pseudo-terminal through
// script(1)) moving during the bulk pass and never backwards, the ETA checked against the time really left,
// block migration's disk in the progress, and a scrape of mig-daemon's -metrics during a migration.
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupVms, createBlankDisk, createRawDisk, fillRamFile, freePort, launchVm, parsePrometheusText, QEMU_SKIP_MESSAGE,
  repoRoot, requireQemu, sha256Disk, tmpDir, type DriveSpec, type Vm, type VmKind,
} from '@mig/test-helpers';

const hasQemu = requireQemu();
const run = promisify(execFile);
const MiB = 1024 * 1024;
const MIG = join(repoRoot(), 'apps', 'daemon', 'bin', 'mig');

interface Ends {
  src: Vm;
  dst: Vm;
  /** Each end's second QMP monitor, the CLI's (QEMU serves one client per monitor). */
  srcQmp: string;
  dstQmp: string;
  uri: string;
  dir: string;
}

async function ends(src: VmKind, dst: VmKind, opts: { ramMiB: number; workload?: string; srcArgs?: string[]; drives?: [DriveSpec, DriveSpec] }): Promise<Ends> {
  const dir = await tmpDir(`mig-cli-${src}-${dst}-`);
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, opts.ramMiB * MiB, { seed: 7, zeroFraction: 0.3 });
  const srcQmp = join(dir, 'src-cli.qmp');
  const dstQmp = join(dir, 'dst-cli.qmp');
  const monitor = (path: string) => ['-qmp', `unix:${path},server=on,wait=off`];
  const target = await launchVm({
    kind: dst, ramMiB: opts.ramMiB, incoming: 'defer', dir, name: 'target', extraArgs: monitor(dstQmp),
    ...(opts.drives ? { drives: [opts.drives[1]] } : {}),
  });
  const source = await launchVm({
    kind: src, ramMiB: opts.ramMiB, ramFile, dir, name: 'source',
    extraArgs: [...monitor(srcQmp), ...(opts.workload ? ['-workload', opts.workload] : []), ...(opts.srcArgs ?? [])],
    ...(opts.drives ? { drives: [opts.drives[0]] } : {}),
  });
  return { src: source, dst: target, srcQmp: `unix:${srcQmp}`, dstQmp: `unix:${dstQmp}`, uri: `unix:${join(dir, 'mig.sock')}`, dir };
}

async function mig(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MIG, ...args], { maxBuffer: 64 * MiB });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Frame {
  percent: number;
  pass: number;
  status: string;
}

/** The bar lines a terminal shows: status, [###...] percent, ..., pass N. */
function parseFrame(line: string): Frame | undefined {
  const m = /^(\w+)\s+\[[#.]+\]\s+([\d.]+)%.*?\bpass (\d+)/.exec(line.trim());
  return m ? { status: m[1]!, percent: Number(m[2]), pass: Number(m[3]) } : undefined;
}

/**
 * Runs `mig migrate` in a terminal and reads the screen every 100 ms as a person would see it: tmux's
 * capture-pane, or (without tmux) the frames written to a pseudo-terminal by script(1), split at each redraw.
 */
async function framesInTerminal(args: string[]): Promise<{ frames: Frame[]; screen: string }> {
  const command = [process.execPath, MIG, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  if (await run('tmux', ['-V']).then(() => true, () => false)) {
    const session = `mig-cli-${process.pid}-${Date.now()}`;
    await run('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '30', `${command}; echo EXIT=$?; sleep 600`]);
    const frames: Frame[] = [];
    let screen = '';
    try {
      for (let i = 0; i < 600 && !/EXIT=\d+/.test(screen); i++) {
        screen = (await run('tmux', ['capture-pane', '-p', '-t', session])).stdout;
        const bar = screen.split('\n').map(parseFrame).filter((f) => f !== undefined);
        if (bar.length > 0) frames.push(bar.at(-1)!);
        await sleep(100);
      }
    } finally {
      await run('tmux', ['kill-session', '-t', session]).catch(() => {});
    }
    return { frames, screen };
  }
  const child = spawn('script', ['-qfec', `stty cols 160; ${command}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const frames = out.split(/\r\x1b\[K|\n/).map(parseFrame).filter((f) => f !== undefined);
  return { frames, screen: out };
}

describe('mig migrate and mig status', () => {
  afterEach(cleanupVms);

  if (!hasQemu) it.skip(`mig migrate with QEMU (${QEMU_SKIP_MESSAGE})`, () => {});
  const pairs = hasQemu ? ([['qemu', 'mig'], ['mig', 'qemu']] as const) : [];
  it.each(pairs)('%s → %s: both ends set up by mig, --json says completed on both, RAM equal', async (src, dst) => {
    const e = await ends(src, dst, { ramMiB: 64 });
    const r = await mig(['migrate', '--from', e.srcQmp, '--to', e.uri, '--incoming-qmp', e.dstQmp, '--bandwidth', '1G', '--downtime', '300', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      result: string; exitCode: number; passes: number; transferred: number;
      source: { status: string; product: string; queryMigrate: { ram: { total: number } } }; target: { status: string; product: string };
    };
    expect(out).toMatchObject({ result: 'completed on both ends', exitCode: 0, source: { status: 'completed' }, target: { status: 'completed' } });
    expect(out.source.product).toMatch(src === 'mig' ? /^mig / : /QEMU 7\.2/);
    expect(out.target.product).toMatch(dst === 'mig' ? /^mig / : /QEMU 7\.2/);
    expect(out.source.queryMigrate.ram.total).toBe(64 * MiB);
    expect(out.passes).toBeGreaterThanOrEqual(1);
    expect(await e.src.hashRam()).toBe(await e.dst.hashRam());
    expect(r.stderr).toMatch(/the target listens on unix:/); // migrate-incoming on the deferred target
  });

  const terminalCases = hasQemu ? ([['mig', 'mig'], ['qemu', 'mig']] as const) : ([['mig', 'mig']] as const);
  it.each(terminalCases)('%s → %s: the bar in a terminal moves during the bulk pass and never backwards; the record holds the passes and an ETA within 50 %% of the time left', async (srcKind, dstKind) => {
    // mig-daemon's source has a guest that writes; QEMU's -machine none has none (mig estimates from query-migrate)
    const e = await ends(srcKind, dstKind, { ramMiB: 256, ...(srcKind === 'mig' ? { workload: 'dirty-rate=8M/s,wss=32M,pattern=sparse' } : {}) });
    const record = join(e.dir, 'migration.jsonl');
    const { frames, screen } = await framesInTerminal([
      'migrate', '--from', e.srcQmp, '--to', e.uri, '--incoming-qmp', e.dstQmp, '--bandwidth', '64M', '--record', record,
    ]);
    expect(screen).toMatch(/EXIT=0|result: completed on both ends/);
    const bulk = frames.filter((f) => f.status === 'active' && f.pass === 1);
    expect(bulk.length).toBeGreaterThan(10);
    expect(new Set(bulk.map((f) => f.percent)).size).toBeGreaterThan(5); // moving, not only at syncs
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.percent).toBeGreaterThanOrEqual(frames[i - 1]!.percent);
    expect(frames.filter((f) => f.status !== 'completed').every((f) => f.percent < 100)).toBe(true);
    const text = await readFile(record, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const end = lines.at(-1) as { type: string; exitCode: number; migrateT: number; totalTimeMs: number; downtime: { ms: number; toT: number } };
    expect(end).toMatchObject({ type: 'end', exitCode: 0 });
    expect(lines.filter((l) => l['type'] === 'pass').length).toBeGreaterThanOrEqual(srcKind === 'mig' ? 2 : 1);
    // the ETA against the time really left, from a third of the migration on (slack: one look, 200 ms)
    const finish = end.migrateT + end.totalTimeMs;
    const samples = lines.filter((l) => l['type'] === 'sample' && l['status'] === 'active') as { t: number; progress: { etaMs: number | null } }[];
    const late = samples.filter((s) => s.t - end.migrateT >= end.totalTimeMs / 3 && s.t < finish - 200);
    console.log(`${srcKind} → ${dstKind}: ETA (ms) against the time left (ms), from a third on: ${late.map((s) => `${s.progress.etaMs}/${finish - s.t}`).join(' ')}`);
    expect(late.length).toBeGreaterThan(5);
    for (const s of late) {
      const left = finish - s.t;
      expect(s.progress.etaMs, `ETA at t=${s.t} with ${left} ms left`).not.toBeNull();
      expect(Math.abs(s.progress.etaMs! - left), `ETA ${s.progress.etaMs} ms at t=${s.t} with ${left} ms left`).toBeLessThanOrEqual(0.5 * left + 200);
    }
    expect(await e.src.hashRam()).toBe(await e.dst.hashRam());
  });

  it('--blk: the disk joins the progress (total = RAM + disk) and is equal at the target', async () => {
    const dir = await tmpDir('mig-cli-blk-');
    const srcDisk = join(dir, 'd0-src.raw');
    const dstDisk = join(dir, 'd0-dst.raw');
    await createRawDisk(srcDisk, 64 * MiB, { seed: 3, zeroFraction: 0.25 });
    await createBlankDisk(dstDisk, 64 * MiB, 'raw');
    const e = await ends('mig', 'mig', { ramMiB: 32, drives: [{ id: 'd0', file: srcDisk, format: 'raw' }, { id: 'd0', file: dstDisk, format: 'raw' }] });
    const record = join(e.dir, 'blk.jsonl');
    const r = await mig(['migrate', '--from', e.srcQmp, '--to', e.uri, '--incoming-qmp', e.dstQmp, '--blk', '--bandwidth', '48M', '--record', record, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const samples = (await readFile(record, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; status: string; source: { disk?: { total: number } }; progress: { total: number; percent: number } })
      .filter((l) => l.type === 'sample' && l.status === 'active' && l.progress.total > 0);
    expect(samples.length).toBeGreaterThan(5);
    expect(samples.every((s) => s.progress.total === 96 * MiB)).toBe(true); // 32 MiB of RAM + 64 MiB of disk
    expect(samples.some((s) => s.source.disk?.total === 64 * MiB)).toBe(true);
    expect(new Set(samples.map((s) => s.progress.percent)).size).toBeGreaterThan(3);
    await e.src.quit();
    await e.dst.quit();
    expect(await sha256Disk(dstDisk, 'raw')).toBe(await sha256Disk(srcDisk, 'raw'));
  });

  it('mig status renders RAM and XBZRLE for a person; --json is query-migrate', async () => {
    const e = await ends('mig', 'mig', { ramMiB: 64 });
    const r = await mig(['migrate', '--from', e.srcQmp, '--to', e.uri, '--incoming-qmp', e.dstQmp, '--xbzrle', '--progress', 'none']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/status\s+completed\s+completed/);
    const s = await mig(['status', e.srcQmp]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/guest: postmigrate/);
    expect(s.stdout).toMatch(/migration: completed/);
    expect(s.stdout).toMatch(/RAM\s+64\.0 MiB of 64\.0 MiB done/);
    expect(s.stdout).toMatch(/XBZRLE\s+cache 64\.0 MiB/);
    const j = JSON.parse((await mig(['status', e.srcQmp, '--json'])).stdout) as { queryMigrate: { status: string; 'xbzrle-cache': unknown } };
    expect(j.queryMigrate.status).toBe('completed');
    expect(j.queryMigrate['xbzrle-cache']).toBeDefined();
  });

  it('-metrics: a scrape during a migration parses as Prometheus text and follows it', async () => {
    const port = await freePort();
    const e = await ends('mig', 'mig', { ramMiB: 128, srcArgs: ['-metrics', `tcp:127.0.0.1:${port}`] });
    const url = `http://127.0.0.1:${port}/metrics`;
    const idle = parsePrometheusText(await (await fetch(url)).text());
    expect(idle.get('mig_migration_status')!.samples.find((s) => s.labels['status'] === 'none')!.value).toBe(1);
    await e.src.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 32 * MiB });
    await e.dst.qmp.execute('migrate-incoming', { uri: e.uri });
    await e.src.qmp.execute('migrate', { uri: e.uri });
    await e.src.waitForMigration(['active'], 10_000);
    await sleep(1000);
    const res = await fetch(url);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const during = parsePrometheusText(await res.text());
    const v = (name: string, labels: Record<string, string> = {}) =>
      during.get(name)!.samples.find((s) => Object.entries(labels).every(([k, x]) => s.labels[k] === x))!.value;
    expect(during.get('kubevirt_vmi_migration_data_remaining_bytes')!.type).toBe('gauge');
    expect(v('mig_migration_status', { status: 'active', direction: 'outgoing' })).toBe(1);
    expect(v('kubevirt_vmi_migrations_in_running_phase')).toBe(1);
    expect(v('kubevirt_vmi_migration_data_processed_bytes')).toBeGreaterThan(0);
    expect(v('kubevirt_vmi_migration_data_remaining_bytes')).toBeGreaterThan(0);
    expect(v('kubevirt_vmi_migration_data_bytes_total')).toBe(128 * MiB);
    expect(v('kubevirt_vmi_migration_memory_transfer_rate_bytes')).toBeGreaterThan(16 * MiB);
    expect(v('mig_migration_passes')).toBe(1);
    expect(v('mig_migration_progress_percent')).toBeGreaterThan(0);
    expect(v('mig_migration_progress_percent')).toBeLessThan(100);
    expect(v('mig_migration_eta_seconds')).toBeGreaterThan(0);
    expect(v('kubevirt_vmi_migration_start_time_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect((await e.src.waitForMigration(undefined, 60_000)).status).toBe('completed');
    const after = parsePrometheusText(await (await fetch(url)).text());
    const a = (name: string) => after.get(name)!.samples[0]!.value;
    expect(a('kubevirt_vmi_migration_succeeded')).toBe(1);
    expect(a('kubevirt_vmi_migrations_in_running_phase')).toBe(0);
    expect(a('mig_migration_downtime_seconds')).toBeGreaterThan(0);
    expect(a('mig_migration_progress_percent')).toBe(100);
  });

  it('mig-daemon answers -h, --help, -version and --version as QEMU 7.2 does (exit 0, usage and version lines)', async () => {
    const daemon = join(repoRoot(), 'apps', 'daemon', 'bin', 'mig-daemon');
    for (const flag of ['-version', '--version']) {
      const { stdout } = await run(process.execPath, [daemon, flag]);
      expect(stdout).toMatch(/^mig-daemon version \d+\.\d+\.\d+, speaking QEMU 7\.2\.0's migration stream and QMP\nCopyright/);
    }
    for (const flag of ['-h', '-help', '--help']) {
      const { stdout } = await run(process.execPath, [daemon, flag]);
      expect(stdout).toMatch(/^usage: mig-daemon \[options\]$/m);
      expect(stdout).toMatch(/^-h or -help\s+display this help and exit$/m);
      expect(stdout).toMatch(/^-version\s+display version information and exit$/m);
    }
    if (hasQemu) {
      const q = await run('qemu-system-x86_64', ['-h']);
      expect(q.stdout).toMatch(/^usage: qemu-system-x86_64 \[options\]/m); // the same shape
    }
  });
});
