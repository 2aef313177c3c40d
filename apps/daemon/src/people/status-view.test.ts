import { describe, expect, it } from 'vitest';
import type { MigrationInfo, MigrationProgress } from '@mig/qmp';
import { describeStatus } from './status-view.js';

// a target's x-mig-query-progress: its outgoing tracker never ran
const idleProgress = { percent: 0, 'eta-ms': null, 'processing-rate': 0, converging: true, advice: [] } as unknown as MigrationProgress;

describe('mig status as a person reads it', () => {
  it('a completed migration is 100 % done on either end, with no ETA to wait for', () => {
    const text = describeStatus({ address: 'unix:/t.qmp', product: 'mig-daemon', runstate: 'running', info: { status: 'completed' } as MigrationInfo, progress: idleProgress });
    expect(text).toContain('migration: completed');
    expect(text).toContain('progress 100.0 %, done');
    expect(text).not.toMatch(/ETA/);
  });

  it('an active one shows the percent and says when the ETA is not known yet', () => {
    const text = describeStatus({ address: 'unix:/s.qmp', product: 'mig-daemon', runstate: 'running', info: { status: 'active' } as MigrationInfo, progress: { ...idleProgress, percent: 12.5 } as MigrationProgress });
    expect(text).toContain('progress 12.5 %, ETA not known yet');
  });
});
