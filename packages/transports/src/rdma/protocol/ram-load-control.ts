import type { RamLoadControl } from '@mig/core';
import type { DestinationRegistrations } from './dest-registrations.js';

/**
 * The destination's RAM control hook over RDMA (QEMU's rdma_load_hook): the block list of MEM_SIZE gives the
 * source's block order (RAM_CONTROL_BLOCK_REG); a HOOK record opens a round of registration handling
 * (RAM_CONTROL_HOOK). The RAM loader runs on parsed stream bytes while the stream reader runs ahead, so the
 * reader (RdmaStreamReader) holds a registration message until the loader has met the HOOK it belongs to.
 */
export class RdmaRamLoadControl implements RamLoadControl {
  readonly registrations: DestinationRegistrations;
  /** HOOK records parsed whose round (… REGISTER_FINISHED) has not ended yet. */
  #openRounds = 0;
  #waiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #failure: Error | undefined;
  /** HOOK records met, for stats and tests. */
  hooks = 0;

  constructor(registrations: DestinationRegistrations) {
    this.registrations = registrations;
  }

  onHook(): void {
    this.hooks++;
    this.#openRounds++;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve();
  }

  onBlockRegistered(idstr: string): void {
    this.registrations.noteSourceBlock(idstr);
  }

  /** Whether a round is open: registration messages are due, stream bytes are not. */
  get inRound(): boolean {
    return this.#openRounds > 0;
  }

  /** Undefined when a round is open, else a promise for the next HOOK the loader meets. */
  whenRound(): Promise<void> | undefined {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#openRounds > 0) return undefined;
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** REGISTER_FINISHED: the round ends, the stream goes on. */
  roundFinished(): void {
    if (this.#openRounds > 0) this.#openRounds--;
  }

  /** The stream ended or failed: a reader waiting for a HOOK stops. */
  fail(err: Error): void {
    this.#failure ??= err;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#failure);
  }
}
