import { describe, expect, it } from 'vitest';
import { StateTransitionError } from './errors.js';
import {
  INCOMING_MIGRATION_TRANSITIONS,
  MIGRATION_STATUSES,
  MIGRATION_TRANSITIONS,
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

describe('MigrationStateMachine directions', () => {
  it('is outgoing unless told otherwise, with the outgoing table', () => {
    expect(new MigrationStateMachine().direction).toBe('outgoing');
    expect(new MigrationStateMachine('active').direction).toBe('outgoing');
    expect(new MigrationStateMachine({ initial: 'failed' }).status).toBe('failed');
    expect(new MigrationStateMachine({ direction: 'outgoing' }).allows('completed', 'setup')).toBe(true);
  });

  it('walks an incoming migration as QEMU 7.2 does: none → setup → active → completed', () => {
    const sm = new MigrationStateMachine({ direction: 'incoming' });
    const seen: StatusChange[] = [];
    sm.onChange((c) => seen.push(c));
    expect(sm.direction).toBe('incoming');
    expect(sm.status).toBe('none');
    expect(sm.transition('none', 'setup')).toBe(true);
    expect(sm.transition('setup', 'active')).toBe(true);
    expect(sm.transition('active', 'completed')).toBe(true);
    expect(seen.map((c) => c.to)).toEqual(['setup', 'active', 'completed']);
  });

  it('allows exactly the incoming transitions; an ended incoming migration is final', () => {
    const allowed = new Set([
      'none>setup', 'setup>active', 'setup>failed', 'setup>cancelling', 'active>completed', 'active>failed',
      'active>cancelling', 'cancelling>cancelled', 'cancelling>failed',
    ]);
    for (const from of MIGRATION_STATUSES) {
      for (const to of MIGRATION_STATUSES) {
        const ok = allowed.has(`${from}>${to}`);
        expect(isTransitionAllowed(from, to, 'incoming'), `${from}>${to}`).toBe(ok);
        const sm = new MigrationStateMachine({ direction: 'incoming', initial: from });
        expect(sm.allows(from, to), `${from}>${to}`).toBe(ok);
        if (ok) expect(sm.transition(from, to)).toBe(true);
        else expect(() => sm.transition(from, to)).toThrow(StateTransitionError);
      }
    }
    expect(INCOMING_MIGRATION_TRANSITIONS.completed).toEqual([]);
    expect(MIGRATION_TRANSITIONS.completed).toEqual(['setup']);
  });

  it('a cancel of a waiting target races the connection: one of them wins', () => {
    const sm = new MigrationStateMachine({ direction: 'incoming', initial: 'setup' });
    expect(sm.transition('setup', 'cancelling')).toBe(true);
    // the worker reports the stream connected, too late
    expect(sm.transition('setup', 'active')).toBe(false);
    expect(sm.transition('cancelling', 'cancelled')).toBe(true);
    expect(sm.status).toBe('cancelled');
  });

  it('names the direction in a refused incoming transition', () => {
    const sm = new MigrationStateMachine({ direction: 'incoming', initial: 'completed' });
    const err = (() => {
      try {
        sm.transition('completed', 'setup');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StateTransitionError);
    expect((err as StateTransitionError).message).toBe("incoming migration state cannot change from 'completed' to 'setup'");
    expect((err as StateTransitionError).direction).toBe('incoming');
    expect(() => new MigrationStateMachine({ direction: 'sideways' as never })).toThrow(/unknown migration direction 'sideways'/);
  });
});
