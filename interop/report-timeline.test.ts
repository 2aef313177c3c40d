// mig report on a real migration: mig-daemon → mig-daemon with a guest that keeps writing, driven by
// `mig migrate --record` (as its own process), then `mig report` (likewise) draws that record: a PNG of the SVG's
// size and in the SVG one rule per pass the source reported and the downtime band.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, fillRamFile, launchVm, repoRoot, tmpDir, type QueryMigrateReply } from '@mig/test-helpers';

const run = promisify(execFile);
const MiB = 1 << 20;

describe('mig report on a recorded mig-daemon migration', () => {
  afterEach(cleanupAll);

  it('draws the passes and the downtime the source reported, as SVG and PNG', async () => {
    const dir = await tmpDir('mig-report-live-');
    const ramFile = join(dir, 'src.ram');
    await fillRamFile(ramFile, 128 * MiB, { seed: 77, zeroFraction: 0.3 });
    const uri = `unix:${join(dir, 'mig.sock')}`;
    const target = await launchVm({ kind: 'mig', ramMiB: 128, incoming: uri, dir, name: 'target' });
    const source = await launchVm({ kind: 'mig', ramMiB: 128, ramFile, dir, name: 'source', extraArgs: ['-workload', 'dirty-rate=8M/s,wss=16M,pattern=sparse'] });
    const record = join(dir, 'migration.jsonl');
    const mig = join(repoRoot(), 'apps', 'daemon', 'bin', 'mig');
    const migrated = await run(process.execPath, [mig, 'migrate', '--from', `unix:${source.qmpPath}`, '--to', uri, '--bandwidth', '64M', '--downtime', '300', '--record', record, '--json']);
    expect((JSON.parse(migrated.stdout) as { exitCode: number }).exitCode).toBe(0);
    const reply = (await source.qmp.execute('query-migrate')) as QueryMigrateReply;
    expect(reply.status).toBe('completed');
    expect((await target.waitForMigration()).status).toBe('completed');
    const passes = (await readFile(record, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; pass?: number })
      .filter((l) => l.type === 'pass').map((l) => l.pass!);
    expect(passes.length).toBeGreaterThanOrEqual(2);
    expect(passes.at(-1)).toBe(reply.ram!['dirty-sync-count']);

    const { stdout } = await run(process.execPath, [mig, 'report', record, '--json', '--title', 'mig-daemon → mig-daemon']);
    const summary = JSON.parse(stdout) as { passes: number[]; downtime: { start: number; end: number }; svg: string; png: string };
    expect(summary.passes).toEqual(passes);
    expect(summary.svg).toBe(join(dir, 'migration.svg'));
    const svg = await readFile(summary.svg, 'utf8');
    const rules = /class="mark-rule role-mark remaining_passes_marks"[^>]*>([\s\S]*?)<\/g>/.exec(svg)![1]!;
    expect((rules.match(/<line /g) ?? []).length).toBe(passes.length);
    expect(svg).toMatch(/class="mark-rect role-mark dirty_downtime_marks"/);
    expect(svg).toContain(`>downtime ${reply.downtime} ms<`);
    expect(svg).toContain('>mig-daemon → mig-daemon<');
    const png = PNG.sync.read(await readFile(summary.png));
    expect(png.width).toBe(2 * Number(/width="(\d+)"/.exec(svg)![1]));
  });
});
