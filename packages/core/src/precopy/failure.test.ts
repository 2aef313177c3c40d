import { describe, expect, it } from 'vitest';
import { MigrationFailedError } from '../errors.js';
import { CancelRequested, guardStep, isRaisedFailure, raiseFailure } from './failure.js';

describe('raiseFailure / guardStep', () => {
  it('raiseFailure throws a MigrationFailedError with the phase, message and cause', () => {
    const cause = new Error('EPIPE');
    let caught: unknown;
    try {
      raiseFailure('write', 'migration stream write failed: EPIPE', cause);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MigrationFailedError);
    expect(caught).toMatchObject({ phase: 'write', message: 'migration stream write failed: EPIPE', cause });
    expect(isRaisedFailure(caught)).toBe(true);
  });

  it('guardStep returns what the step returns, and names the step when it throws', () => {
    expect(guardStep('iterate', 'iterate', () => 42)).toBe(42);
    const cause = new Error('dirty bitmap gone');
    try {
      guardStep('iterate', 'dirty sync', () => {
        throw cause;
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ phase: 'iterate', message: 'migration dirty sync failed: dirty bitmap gone', cause });
      expect(isRaisedFailure(err)).toBe(true);
    }
    expect(() => guardStep('setup', 'setup', () => { throw 'no RAM'; })).toThrow('migration setup failed: no RAM');
  });

  it('only failures the loop raised count as raised', () => {
    expect(isRaisedFailure(new MigrationFailedError('write', 'from elsewhere'))).toBe(false);
    expect(isRaisedFailure(new CancelRequested())).toBe(false);
    expect(isRaisedFailure(undefined)).toBe(false);
    expect(isRaisedFailure('text')).toBe(false);
  });
});
