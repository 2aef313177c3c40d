import { MigrationStateMachine, type MigrationStatus, type StatusChange } from '@mig/core';
import { describe, expect, it } from 'vitest';
import type { StatusMessage } from './protocol.js';
import { applyWorkerChange, settleWorkerEnd, WorkerStatusReporter } from './worker-status.js';

/** A main-thread machine, the statuses it went through, and a worker reporter feeding it. */
function pair(direction: 'outgoing' | 'incoming') {
  const main = new MigrationStateMachine({ direction });
  const seen: MigrationStatus[] = [];
  main.onChange(({ to }) => seen.push(to));
  main.transition('none', 'setup'); // the main thread's own step (migrate / migrate-incoming)
  const posted: StatusMessage[] = [];
  const worker = new WorkerStatusReporter({ direction, initial: 'setup' }, (m) => posted.push(m));
  /** Delivers what the worker posted so far, as the message port would. */
  const deliver = (): void => {
    for (const m of posted.splice(0)) applyWorkerChange(main, m);
  };
  return { main, seen, worker, posted, deliver };
}

describe('WorkerStatusReporter', () => {
  it('posts the transitions that do not end the migration and keeps the ending one for done', () => {
    const { worker, posted } = pair('outgoing');
    worker.state.transition('setup', 'active');
    worker.state.transition('active', 'completed');
    expect(posted).toEqual([{ type: 'status', from: 'setup', to: 'active' }]);
    expect(worker.finish('completed')).toEqual({ from: 'active', to: 'completed' });
  });

  it('finish() ends a machine that has not ended: a cancel through cancelling, a cancelling one cancelled', () => {
    const a = pair('incoming');
    expect(a.worker.finish('cancelled')).toEqual({ from: 'cancelling', to: 'cancelled' });
    expect(a.posted).toEqual([{ type: 'status', from: 'setup', to: 'cancelling' }]);

    const b = pair('incoming');
    b.worker.state.transition('setup', 'active');
    b.worker.state.transition('active', 'cancelling');
    // the load got to the end, but a cancel had landed: the cancel wins
    expect(b.worker.finish('completed')).toEqual({ from: 'cancelling', to: 'cancelled' });

    const c = pair('outgoing');
    expect(c.worker.finish('failed')).toEqual({ from: 'setup', to: 'failed' });
    // 'completed' is not allowed from setup: it fails instead of throwing
    const d = pair('outgoing');
    expect(d.worker.finish('completed')).toEqual({ from: 'setup', to: 'failed' });
  });
});

describe('the main thread applying worker reports', () => {
  it('follows the worker through a migration', () => {
    const { main, seen, worker, deliver } = pair('outgoing');
    worker.state.transition('setup', 'active');
    deliver();
    worker.state.transition('active', 'completed');
    expect(settleWorkerEnd(main, worker.finish('completed'))).toBe(true);
    expect(seen).toEqual(['setup', 'active', 'completed']);
  });

  it("a cancel in setup wins over the worker's late 'active' (no filter: the compare-and-set refuses it)", () => {
    const { main, seen, worker, deliver } = pair('outgoing');
    worker.state.transition('setup', 'active'); // posted before the cancel reached the worker
    main.transition('setup', 'cancelling'); // migrate_cancel on the main thread
    deliver();
    expect(main.status).toBe('cancelling');
    // the worker hears the cancel and ends
    worker.state.transition('active', 'cancelling');
    deliver();
    expect(settleWorkerEnd(main, worker.finish('cancelled'))).toBe(true);
    expect(seen).toEqual(['setup', 'cancelling', 'cancelled']);
  });

  it('a cancel that overlaps the completion wins as in QEMU: the end is cancelled', () => {
    const { main, seen, worker, deliver } = pair('outgoing');
    worker.state.transition('setup', 'active');
    deliver();
    main.transition('active', 'cancelling');
    worker.state.transition('active', 'completed'); // the cancel came too late for the worker
    expect(settleWorkerEnd(main, worker.finish('completed'))).toBe(false);
    expect(seen).toEqual(['setup', 'active', 'cancelling', 'cancelled']);
  });

  it('a failure while cancelling ends cancelled (QEMU: the failed transition does not apply from cancelling)', () => {
    const { main, worker, deliver } = pair('incoming');
    worker.state.transition('setup', 'active');
    deliver();
    main.transition('active', 'cancelling');
    worker.state.transition('active', 'failed');
    expect(settleWorkerEnd(main, worker.finish('failed'))).toBe(false);
    expect(main.status).toBe('cancelled');
  });

  it('a worker gone without a report fails a running migration, cancels a cancelling one, leaves an ended one', () => {
    const running = new MigrationStateMachine({ direction: 'outgoing', initial: 'active' });
    settleWorkerEnd(running);
    expect(running.status).toBe('failed');
    const cancelling = new MigrationStateMachine({ direction: 'incoming', initial: 'cancelling' });
    settleWorkerEnd(cancelling);
    expect(cancelling.status).toBe('cancelled');
    const ended = new MigrationStateMachine({ direction: 'outgoing', initial: 'completed' });
    const changes: StatusChange[] = [];
    ended.onChange((c) => changes.push(c));
    settleWorkerEnd(ended);
    expect(ended.status).toBe('completed');
    expect(changes).toEqual([]);
  });

  it('a report of a pair outside the table changes nothing', () => {
    const main = new MigrationStateMachine({ direction: 'incoming', initial: 'completed' });
    expect(applyWorkerChange(main, { from: 'completed', to: 'setup' })).toBe(false);
    expect(main.status).toBe('completed');
  });
});
