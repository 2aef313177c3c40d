/** A clock for tests: time moves only when the code under test sleeps or the test advances it. */
export class FakeClock {
  t = 0;
  /** Every sleep asked for, in order. */
  readonly sleeps: number[] = [];
  readonly now = (): number => this.t;
  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += Math.max(0, ms);
  };
  advance(ms: number): void {
    this.t += ms;
  }
}
