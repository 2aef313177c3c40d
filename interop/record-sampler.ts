// Samples a source's query-migrate into the record mig report reads (JSON lines: sample, pass, downtime),
// standing in for `mig migrate --record FILE` in tests until that command writes it.
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueryMigrateReply, Vm } from '@mig/test-helpers';

const TERMINAL = ['completed', 'failed', 'cancelled'];

/** Polls every `intervalMs` from now until a terminal status, writes the record; returns the last reply. */
export async function recordMigration(vm: Vm, file: string, intervalMs = 100): Promise<{ reply: QueryMigrateReply; passes: number[] }> {
  const t0 = performance.now();
  const lines: string[] = [];
  const passes: number[] = [];
  for (;;) {
    const r = (await vm.qmp.execute('query-migrate')) as QueryMigrateReply;
    const t = (performance.now() - t0) / 1000;
    const ram = r.ram ?? {};
    const pass = ram['dirty-sync-count'] ?? 0;
    if (pass > 0 && pass !== passes[passes.length - 1]) {
      passes.push(pass);
      lines.push(JSON.stringify({ type: 'pass', pass, t }));
    }
    if (r.status === 'completed' && typeof r.downtime === 'number') {
      lines.push(JSON.stringify({ type: 'downtime', start: Math.max(0, t - r.downtime / 1000), end: t }));
    }
    const disk = r.disk ? { disk: { remaining: r.disk.remaining, transferred: r.disk.transferred, total: r.disk.total } } : {};
    lines.push(JSON.stringify({
      type: 'sample', t, status: r.status ?? 'none', remaining: ram.remaining ?? 0, transferred: ram.transferred ?? 0,
      total: ram.total ?? 0, mbps: ram.mbps ?? 0, dirtyRate: (ram['dirty-pages-rate'] ?? 0) * (ram['page-size'] ?? 4096), pass, ...disk,
    }));
    if (TERMINAL.includes(r.status ?? '')) {
      await writeFile(file, `${lines.join('\n')}\n`);
      return { reply: r, passes };
    }
    await sleep(intervalMs);
  }
}
