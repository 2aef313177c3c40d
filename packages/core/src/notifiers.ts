import { NotifierError } from './errors.js';

export type Notifier<T> = (value: T) => void;

/**
 * A list of callbacks (QEMU's NotifierList). `notify` calls them in the order they were added. A callback
 * removed during a notify is not called if it had not been reached yet; one added during a notify is called
 * from the next notify on. Adding the same function twice keeps one entry. If callbacks throw, the others
 * are still called and a NotifierError carrying every thrown value is thrown at the end.
 */
export class Notifiers<T> {
  private readonly list = new Set<Notifier<T>>();

  /** Adds `fn`; returns a function that removes it. */
  add(fn: Notifier<T>): () => void {
    if (typeof fn !== 'function') throw new TypeError(`notifier must be a function, got ${typeof fn}`);
    this.list.add(fn);
    return () => {
      this.list.delete(fn);
    };
  }

  /** Removes `fn`; returns whether it was registered. */
  remove(fn: Notifier<T>): boolean {
    return this.list.delete(fn);
  }

  get size(): number {
    return this.list.size;
  }

  notify(value: T): void {
    if (this.list.size === 0) return;
    const snapshot = [...this.list];
    let errors: unknown[] | undefined;
    for (const fn of snapshot) {
      if (!this.list.has(fn)) continue; // removed by an earlier callback of this notify
      try {
        fn(value);
      } catch (err) {
        (errors ??= []).push(err);
      }
    }
    if (errors) throw new NotifierError(errors);
  }
}
