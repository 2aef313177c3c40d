import { describe, expect, it } from 'vitest';
import { NotifierError } from './errors.js';
import { Notifiers } from './notifiers.js';

describe('Notifiers', () => {
  it('calls every notifier in order with the value', () => {
    const n = new Notifiers<number>();
    const log: string[] = [];
    n.add((v) => log.push(`a${v}`));
    n.add((v) => log.push(`b${v}`));
    n.notify(7);
    expect(log).toEqual(['a7', 'b7']);
    expect(n.size).toBe(2);
  });

  it('remove() and the returned function both unregister', () => {
    const n = new Notifiers<void>();
    let a = 0;
    let b = 0;
    const fa = () => void a++;
    n.add(fa);
    const offB = n.add(() => void b++);
    expect(n.remove(fa)).toBe(true);
    expect(n.remove(fa)).toBe(false);
    offB();
    n.notify();
    expect([a, b, n.size]).toEqual([0, 0, 0]);
  });

  it('a notifier may remove itself or a later one during notify', () => {
    const n = new Notifiers<void>();
    const log: string[] = [];
    const later = () => log.push('later');
    const self = () => {
      log.push('self');
      n.remove(self);
      n.remove(later);
    };
    n.add(self);
    n.add(later);
    n.notify();
    n.notify();
    expect(log).toEqual(['self']);
  });

  it('a notifier added during notify runs from the next notify on', () => {
    const n = new Notifiers<void>();
    const log: string[] = [];
    n.add(() => {
      log.push('first');
      n.add(() => log.push('added'));
    });
    n.notify();
    expect(log).toEqual(['first']);
    n.notify();
    expect(log).toEqual(['first', 'first', 'added']);
  });

  it('calls all notifiers even when some throw, then throws what they threw', () => {
    const n = new Notifiers<void>();
    let reached = false;
    n.add(() => {
      throw new Error('boom');
    });
    n.add(() => {
      reached = true;
    });
    let caught: unknown;
    try {
      n.notify();
    } catch (err) {
      caught = err;
    }
    expect(reached).toBe(true);
    expect(caught).toBeInstanceOf(NotifierError);
    expect((caught as NotifierError).message).toContain('boom');
    expect((caught as NotifierError).cause).toBeInstanceOf(Error);
  });

  it('refuses a non-function', () => {
    expect(() => new Notifiers<void>().add(42 as never)).toThrow(/notifier must be a function, got number/);
  });
});
