// A minimal async mutex: qcow2 metadata updates (cluster allocation, L2/refcount writes) take it so that
// writes in flight never allocate the same cluster twice or interleave half-done table updates.

const RESOLVED: Promise<void> = Promise.resolve();

export class Mutex {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  get locked(): boolean {
    return this.held;
  }

  /** Resolves once the caller holds the lock; waiters are served in arrival order. */
  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return RESOLVED;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the lock to the next waiter, or frees it. */
  release(): void {
    if (!this.held) throw new Error('Mutex.release: not locked');
    const next = this.waiters.shift();
    if (next === undefined) this.held = false;
    else next();
  }
}
