import { describe, expect, it } from 'vitest';
import { Blockers } from './blockers.js';
import { MigrationBlockedError } from './errors.js';

describe('Blockers', () => {
  it('lists reasons oldest first and removes by handle', () => {
    const b = new Blockers();
    const h1 = b.add('device foo is not migratable');
    b.add('disk d0 is in use by a job');
    const h3 = b.add('device foo is not migratable'); // same text, own handle
    expect(b.list()).toEqual(['device foo is not migratable', 'disk d0 is in use by a job', 'device foo is not migratable']);
    expect(b.remove(h1)).toBe(true);
    expect(b.remove(h1)).toBe(false);
    expect(b.list()).toEqual(['disk d0 is in use by a job', 'device foo is not migratable']);
    b.remove(h3);
    expect(b.size).toBe(1);
  });

  it('check() passes with no blocker and names every reason otherwise', () => {
    const b = new Blockers();
    expect(() => b.check()).not.toThrow();
    b.add('reason one');
    expect(() => b.check()).toThrow(new MigrationBlockedError(['reason one']));
    b.add('reason two');
    try {
      b.check();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MigrationBlockedError);
      expect((err as MigrationBlockedError).message).toBe('reason one; reason two');
      expect((err as MigrationBlockedError).reasons).toEqual(['reason one', 'reason two']);
    }
  });

  it('refuses an empty reason', () => {
    expect(() => new Blockers().add('')).toThrow(/non-empty reason/);
  });
});
