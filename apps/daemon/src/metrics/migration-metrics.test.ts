import { afterEach, describe, expect, it } from 'vitest';
import { MigrationStateMachine, type ProgressReport } from '@mig/core';
import { parsePrometheusText } from '@mig/test-helpers';
import { MetricsServer } from './metrics-server.js';
import { MigrationMetrics, type MigrationInfoLike } from './migration-metrics.js';

const MiB = 1024 * 1024;

function source(info: MigrationInfoLike, progress?: Partial<ProgressReport>) {
  return {
    info,
    progress: progress as ProgressReport | undefined,
    outgoing: new MigrationStateMachine({ direction: 'outgoing' }),
    incoming: new MigrationStateMachine({ direction: 'incoming' }),
  };
}

function metricsOf(s: ReturnType<typeof source>, clock = { now: 0 }) {
  return new MigrationMetrics(
    { queryMigrate: () => s.info, progress: () => s.progress, outgoing: s.outgoing, incoming: s.incoming },
    { guestName: 'vm1', version: '0.1.0', qemuVersion: '7.2.0' },
    () => clock.now,
  );
}

const value = (text: string, name: string, labels: Record<string, string> = {}) => {
  const f = parsePrometheusText(text).get(name);
  if (!f) throw new Error(`no ${name} in the scrape`);
  return f.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))!.value;
};

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('MigrationMetrics', () => {
  it("a running migration under KubeVirt's names and mig's, labelled with the guest's name", async () => {
    const s = source({
      status: 'active', 'total-time': 2500, 'expected-downtime': 300, 'cpu-throttle-percentage': 20,
      ram: { transferred: 100 * MiB, remaining: 150 * MiB, total: 256 * MiB, 'dirty-pages-rate': 256, 'page-size': 4096, mbps: 800, 'dirty-sync-count': 2 },
      disk: { transferred: 10 * MiB, remaining: 54 * MiB, total: 64 * MiB },
      'xbzrle-cache': { 'cache-size': 64 * MiB, bytes: 1000, pages: 10, 'cache-miss': 3, 'cache-miss-rate': 0.25, 'encoding-rate': 4, overflow: 1 },
    }, { percent: 42.5, 'eta-ms': 3500 });
    const clock = { now: 1_700_000_000_000 };
    const m = metricsOf(s, clock);
    s.outgoing.transition('none', 'setup');
    s.outgoing.transition('setup', 'active');
    const { body, contentType } = await m.scrape();
    expect(contentType).toMatch(/^text\/plain/);
    const f = parsePrometheusText(body);
    expect(f.get('kubevirt_vmi_migration_data_processed_bytes')).toMatchObject({ type: 'gauge', samples: [{ labels: { name: 'vm1' }, value: 110 * MiB }] });
    expect(value(body, 'kubevirt_vmi_migration_data_remaining_bytes')).toBe(204 * MiB);
    expect(f.get('kubevirt_vmi_migration_data_bytes_total')).toMatchObject({ type: 'counter', samples: [{ value: 320 * MiB }] });
    expect(value(body, 'kubevirt_vmi_migration_dirty_memory_rate_bytes')).toBe(MiB);
    expect(value(body, 'kubevirt_vmi_migration_memory_transfer_rate_bytes')).toBe(100_000_000);
    expect(value(body, 'kubevirt_vmi_migration_start_time_seconds')).toBe(1_700_000_000);
    expect(value(body, 'kubevirt_vmi_migrations_in_running_phase')).toBe(1);
    expect(value(body, 'mig_migration_status', { status: 'active', direction: 'outgoing' })).toBe(1);
    expect(value(body, 'mig_migration_status', { status: 'completed' })).toBe(0);
    expect(value(body, 'mig_migration_passes')).toBe(2);
    expect(value(body, 'mig_migration_cpu_throttle_percent')).toBe(20);
    expect(value(body, 'mig_migration_disk_total_bytes')).toBe(64 * MiB);
    expect(value(body, 'mig_migration_xbzrle_cache_misses')).toBe(3);
    expect(value(body, 'mig_migration_xbzrle_overflows')).toBe(1);
    expect(value(body, 'mig_migration_progress_percent')).toBe(42.5);
    expect(value(body, 'mig_migration_eta_seconds')).toBe(3.5);
    expect(value(body, 'mig_info', { version: '0.1.0', qemu_version: '7.2.0' })).toBe(1);
    expect(f.has('process_resident_memory_bytes')).toBe(true);
  });

  it('after the end: succeeded or failed, the end time, the downtime; ETA NaN while unknown', async () => {
    const s = source({ status: 'completed', downtime: 45, 'total-time': 4000, ram: { total: 256 * MiB, remaining: 0 } }, { percent: 100, 'eta-ms': null });
    const clock = { now: 10_000 };
    const m = metricsOf(s, clock);
    s.outgoing.transition('none', 'setup');
    s.outgoing.transition('setup', 'active');
    clock.now = 14_000;
    s.outgoing.transition('active', 'completed');
    const { body } = await m.scrape();
    expect(value(body, 'kubevirt_vmi_migration_succeeded')).toBe(1);
    expect(value(body, 'kubevirt_vmi_migration_failed')).toBe(0);
    expect(value(body, 'kubevirt_vmi_migration_end_time_seconds')).toBe(14);
    expect(value(body, 'mig_migration_downtime_seconds')).toBe(0.045);
    expect(Number.isNaN(value(body, 'mig_migration_eta_seconds'))).toBe(true);
    s.outgoing.transition('completed', 'setup');
    s.outgoing.transition('setup', 'failed');
    s.info = { status: 'failed' };
    const again = (await m.scrape()).body;
    expect(value(again, 'kubevirt_vmi_migration_failed')).toBe(1);
    expect(value(again, 'kubevirt_vmi_migration_succeeded')).toBe(0);
  });

  it('serves GET /metrics over HTTP, 404 elsewhere', async () => {
    const m = metricsOf(source({}));
    server = await MetricsServer.listen(m, '127.0.0.1', 0);
    const ok = await fetch(server.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/text\/plain; version=0\.0\.4/);
    expect(parsePrometheusText(await ok.text()).get('mig_migration_status')!.samples.find((x) => x.labels['status'] === 'none')!.value).toBe(1);
    expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
  });
});
