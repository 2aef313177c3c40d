import { describe, expect, it } from 'vitest';
import { describeAdvice, describeMigration, formatBytes, formatDuration, progressBar } from './format.js';

describe('format', () => {
  it('says sizes and durations as people read them', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 2 ** 20)).toBe('3.0 MiB');
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(2500)).toBe('2.5 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });

  it('draws a bar that clamps to 0..100%', () => {
    expect(progressBar(0.5, 10)).toBe('[#####.....]  50%');
    expect(progressBar(2, 4)).toBe('[####] 100%');
    expect(progressBar(-1, 4)).toBe('[....]   0%');
  });

  it('describes a running and a finished migration in one line', () => {
    const active = describeMigration({
      status: 'active', 'expected-downtime': 300,
      ram: { transferred: 2 ** 20, remaining: 3 * 2 ** 20, total: 4 * 2 ** 20, mbps: 800, 'dirty-sync-count': 2 },
    });
    expect(active).toContain('25%');
    expect(active).toContain('3.0 MiB of 4.0 MiB left');
    expect(active).toContain('pass 2');
    expect(active).toContain('expected downtime 300 ms');
    const done = describeMigration({ status: 'completed', 'total-time': 1500, downtime: 20, ram: { total: 1, remaining: 0 } });
    expect(done).toContain('100%');
    expect(done).toContain('took 1.5 s, downtime 20 ms');
    expect(describeMigration({ status: 'failed', 'error-desc': 'peer closed' })).toBe('migration: failed (peer closed)');
    expect(describeMigration({})).toBe('migration: none');
  });

  it('with mig-daemon progress: the never-backwards percent, ETA, throttle and the advice when not converging', () => {
    const info = {
      status: 'active', 'expected-downtime': 900, 'cpu-throttle-percentage': 30,
      ram: { transferred: 2 ** 30, remaining: 3 * 2 ** 20, total: 4 * 2 ** 20, mbps: 800, 'dirty-sync-count': 9 },
    };
    const line = describeMigration(info, { percent: 90, 'eta-ms': 2500, converging: true, advice: [] });
    expect(line).toContain(' 90%');
    expect(line).toContain('ETA 2.5 s');
    expect(line).toContain('guest throttled 30%');
    expect(line).not.toContain('NOT CONVERGING');
    const stuck = { percent: 60, 'eta-ms': null, converging: false, advice: ['enable auto-converge', 'enable xbzrle'] };
    expect(describeMigration(info, stuck)).toContain('ETA: not draining');
    expect(describeMigration(info, stuck)).toContain('NOT CONVERGING');
    expect(describeAdvice(stuck)).toBe('migration is not converging; what would help:\n  - enable auto-converge\n  - enable xbzrle');
    expect(describeAdvice({ ...stuck, converging: true })).toBe('');
  });
});
