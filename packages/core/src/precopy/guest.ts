import { errorMessage } from '../errors.js';
import { raiseFailure } from './failure.js';

/** The guest hooks of PrecopyOptions. */
export interface GuestHooks {
  stopGuest(): Promise<string> | string;
  resumeGuest(previousRunstate: string): Promise<void> | void;
  isGuestRunning?(): boolean;
}

/** The guest as the loop sees it: stopped for the switchover, resumed if the migration does not complete. */
export class GuestControl {
  #stopped = false;
  #runstate = '';
  #resumeError: unknown;

  constructor(private readonly hooks: GuestHooks) {}

  /** What stopGuest() returned ('' before). */
  get runstate(): string {
    return this.#runstate;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Stream bytes now count as downtime bytes: the loop stopped the guest, or it was not running anyway (-S). */
  get inDowntime(): boolean {
    return this.#stopped || (this.hooks.isGuestRunning !== undefined && !this.hooks.isGuestRunning());
  }

  /** What resumeGuest() threw, if it did. */
  get resumeError(): unknown {
    return this.#resumeError;
  }

  /** Stops the guest; what stopGuest() throws fails the migration ('stop-guest'), and the guest counts as running. */
  async stop(): Promise<void> {
    try {
      this.#runstate = await this.hooks.stopGuest();
    } catch (err) {
      raiseFailure('stop-guest', `migration failed to stop the guest: ${errorMessage(err)}`, err);
    }
    this.#stopped = true;
  }

  /** Restarts a guest that stop() stopped, with its runstate; a failure is kept in resumeError, not thrown. */
  async resume(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    try {
      await this.hooks.resumeGuest(this.#runstate);
    } catch (err) {
      this.#resumeError = err; // the migration's outcome stands; reported beside it
    }
  }
}
