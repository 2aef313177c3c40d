/** A clock for tests: time moves only when the code under test sleeps or the test advances it. */
export class FakeClock {
  t = 0;
  /** Every sleep asked for, in order. */
  readonly sleeps: number[] = [];
  #timers: { at: number; fn: () => void }[] = [];
  readonly now = (): number => this.t;
  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.advance(Math.max(0, ms));
  };
  /** A one-shot timer on this clock (fired by advance() and sleep()); returns its disarm. */
  readonly setTimer = (fn: () => void, ms: number): (() => void) => {
    const timer = { at: this.t + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((x) => x !== timer);
    };
  };
  /** Timers armed and not yet fired. */
  get pendingTimers(): number {
    return this.#timers.length;
  }
  /** Moves time on by `ms`, firing each timer that falls due at its own time, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.#timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
}
