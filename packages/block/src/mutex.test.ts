import { describe, expect, it } from 'vitest';
import { Mutex } from './mutex.js';

describe('Mutex', () => {
  it('serves waiters one at a time in arrival order', async () => {
    const m = new Mutex();
    const order: string[] = [];
    let inside = 0;
    const worker = async (name: string): Promise<void> => {
      await m.acquire();
      inside++;
      expect(inside).toBe(1);
      order.push(name);
      await new Promise((r) => setTimeout(r, 1));
      inside--;
      m.release();
    };
    await Promise.all(['a', 'b', 'c', 'd'].map(worker));
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(m.locked).toBe(false);
  });

  it('refuses a release without an acquire', () => {
    expect(() => new Mutex().release()).toThrow(/not locked/);
  });
});
