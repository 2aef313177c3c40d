import { MigrationCancelledError } from '../errors.js';
import type { MigrationStateMachine } from '../status.js';
import { CancelRequested } from './failure.js';
import type { ByteSink } from './interfaces.js';

/**
 * migrate_cancel for one run (QEMU's migrate_fd_cancel): a cancel is the signal's abort or anyone moving the
 * state to 'cancelling'. Either way the state shows 'cancelling' at once and the sink is shut, so a write
 * blocked on the peer returns; the loop sees it at its next check().
 */
export class CancelWatch {
  #sinkShut = false;
  #listening = false;
  readonly #offState: () => void;
  #wake: (() => void) | undefined;
  #woken: Promise<void> | undefined;

  constructor(
    private readonly state: MigrationStateMachine,
    private readonly sink: ByteSink,
    private readonly signal?: AbortSignal,
  ) {
    this.#offState = state.onChange(({ to }) => {
      if (to === 'cancelling') {
        this.shutSink();
        this.#wake?.();
      }
    });
    if (!signal) return;
    if (signal.aborted) this.#onAbort();
    else {
      signal.addEventListener('abort', this.#onAbort, { once: true });
      this.#listening = true;
    }
  }

  /** A cancel was asked for (until detach(), and through the state after it). */
  get requested(): boolean {
    return this.signal?.aborted === true || this.state.status === 'cancelling';
  }

  /** Unwinds the loop (CancelRequested) when a cancel was asked for. */
  check(): void {
    if (this.requested) throw new CancelRequested();
  }

  /** Resolves once a cancel is asked for (to end a wait that nothing else would end). */
  whenRequested(): Promise<void> {
    if (this.requested) return Promise.resolve();
    this.#woken ??= new Promise<void>((resolve) => (this.#wake = resolve));
    return this.#woken;
  }

  /** Destroys the sink with MigrationCancelledError, once. */
  shutSink(): void {
    if (this.#sinkShut) return;
    this.#sinkShut = true;
    this.sink.destroy(new MigrationCancelledError());
  }

  /** Stops watching the signal and the state (the stream is whole, or the run has ended). */
  detach(): void {
    if (this.#listening) this.signal!.removeEventListener('abort', this.#onAbort);
    this.#listening = false;
    this.#offState();
  }

  readonly #onAbort = (): void => {
    const s = this.state.status;
    if (s === 'setup' || s === 'active') this.state.transition(s, 'cancelling'); // the state listener shuts the sink
    else this.shutSink();
    this.#wake?.();
  };
}
