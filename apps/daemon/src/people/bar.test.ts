import { describe, expect, it } from 'vitest';
import { describeEta, renderBar } from './bar.js';
import type { Snapshot } from './migration-watch.js';

const MiB = 1024 * 1024;
const snap = (over: Partial<Snapshot['progress']> = {}, status: Snapshot['status'] = 'active'): Snapshot => ({
  t: 0, time: 0, status,
  info: {
    status, 'expected-downtime': 120, 'cpu-throttle-percentage': 30,
    ram: { transferred: 160 * MiB, remaining: 96 * MiB, total: 256 * MiB, mbps: 8 * 64 * 1.048576, 'dirty-sync-count': 3, 'dirty-pages-rate': 1024, 'page-size': 4096 } as never,
    disk: { transferred: 8 * MiB, remaining: 56 * MiB, total: 64 * MiB } as never,
  },
  progress: { percent: 42.3, etaMs: 2400, processed: 0, rate: 64 * MiB, remaining: 152 * MiB, total: 320 * MiB, converging: true, advice: [], origin: 'mig', ...over },
});

describe('the live bar', () => {
  it('says bytes, percent, rate, ETA, pass, dirty rate, expected downtime, disk and throttle', () => {
    const line = renderBar(snap(), 200);
    expect(line).toMatch(/^active\s+\[#{10}\.{14}\] {2}42\.3%/);
    for (const part of ['168.0 MiB sent', '152.0 MiB left', '64.0 MiB/s', 'ETA 2.4 s', 'pass 3', 'dirty 4.0 MiB/s', 'exp. downtime 120 ms', 'disk 8.0 MiB/64.0 MiB', 'throttle 30%']) {
      expect(line).toContain(part);
    }
  });

  it('fits the width by leaving the last parts out; a smaller bar on a narrow terminal', () => {
    for (const width of [40, 79, 100]) expect(renderBar(snap(), width).length).toBeLessThanOrEqual(width);
    expect(renderBar(snap(), 79)).toMatch(/\[#{3}\.{3}\]/);
    expect(renderBar(snap({ converging: false }), 100)).toContain('NOT CONVERGING');
  });

  it('the ETA: measured, not yet known, not draining, done', () => {
    expect(describeEta(snap())).toBe('ETA 2.4 s');
    expect(describeEta(snap({ etaMs: null, rate: 0 }))).toBe('ETA …');
    expect(describeEta(snap({ etaMs: null }))).toBe('ETA: not draining');
    expect(describeEta(snap({}, 'completed'))).toBe('done');
  });
});
