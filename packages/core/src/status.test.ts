import { describe, expect, it } from 'vitest';
import { StateTransitionError } from './errors.js';
import {
  MIGRATION_STATUSES,
  MigrationStateMachine,
  isMigrationRunning,
  isTerminalStatus,
  isTransitionAllowed,
  type StatusChange,
} from './status.js';

describe('MigrationStateMachine', () => {
  it('starts at none and walks a successful migration', () => {
    const sm = new MigrationStateMachine();
    const seen: StatusChange[] = [];
    sm.onChange((c) => seen.push(c));
    expect(sm.status).toBe('none');
    expect(sm.transition('none', 'setup')).toBe(true);
    expect(sm.transition('setup', 'active')).toBe(true);
    expect(sm.transition('active', 'completed')).toBe(true);
    expect(sm.status).toBe('completed');
    expect(seen).toEqual([
      { from: 'none', to: 'setup' },
      { from: 'setup', to: 'active' },
      { from: 'active', to: 'completed' },
    ]);
  });

  it('is a compare-and-set: a stale `from` changes nothing and notifies nobody', () => {
    const sm = new MigrationStateMachine('active');
    let calls = 0;
    sm.onChange(() => calls++);
    expect(sm.transition('setup', 'cancelling')).toBe(false);
    expect(sm.status).toBe('active');
    expect(calls).toBe(0);
    // a cancel racing a completion: exactly one wins
    expect(sm.transition('active', 'completed')).toBe(true);
    expect(sm.transition('active', 'cancelling')).toBe(false);
    expect(sm.status).toBe('completed');
  });

  it('allows exactly the listed transitions', () => {
    const allowed = new Set([
      'none>setup', 'setup>active', 'setup>failed', 'setup>cancelling', 'active>completed', 'active>failed',
      'active>cancelling', 'cancelling>cancelled', 'cancelling>failed', 'completed>setup', 'failed>setup',
      'cancelled>setup',
    ]);
    for (const from of MIGRATION_STATUSES) {
      for (const to of MIGRATION_STATUSES) {
        const ok = allowed.has(`${from}>${to}`);
        expect(isTransitionAllowed(from, to), `${from}>${to}`).toBe(ok);
        const sm = new MigrationStateMachine(from);
        if (ok) expect(sm.transition(from, to)).toBe(true);
        else expect(() => sm.transition(from, to)).toThrow(StateTransitionError);
      }
    }
  });

  it('names the refused transition', () => {
    const sm = new MigrationStateMachine('none');
    expect(() => sm.transition('none', 'completed')).toThrow("migration state cannot change from 'none' to 'completed'");
    expect(() => sm.transition('none', 'bogus' as never)).toThrow(/'bogus'/);
    expect(() => new MigrationStateMachine('bogus' as never)).toThrow(/unknown migration status 'bogus'/);
  });

  it('onChange returns an unsubscribe function', () => {
    const sm = new MigrationStateMachine();
    let calls = 0;
    const off = sm.onChange(() => calls++);
    sm.transition('none', 'setup');
    off();
    sm.transition('setup', 'failed');
    expect(calls).toBe(1);
  });

  it('classifies states as QEMU does', () => {
    expect(MIGRATION_STATUSES.filter(isMigrationRunning)).toEqual(['setup', 'cancelling', 'active']);
    expect(MIGRATION_STATUSES.filter(isTerminalStatus)).toEqual(['cancelled', 'completed', 'failed']);
  });
});
