// The two halves of a migration's status across the worker boundary. The worker moves its own machine (the
// precopy loop needs one it can change synchronously) and reports each transition; the main thread owns the
// machine QMP sees and applies the reports by compare-and-set, so when both move at once (a migrate_cancel
// while the worker reports 'active' or 'completed') the machine decides, not a filter.
import {
  MigrationStateMachine,
  isMigrationRunning,
  isTerminalStatus,
  type MigrationStateMachineOptions,
  type MigrationStatus,
  type StatusChange,
} from '@mig/core';
import type { StatusMessage } from './protocol.js';

export type EndStatus = 'completed' | 'failed' | 'cancelled';

/**
 * In a worker: its machine, with every transition that does not end the migration posted as a `status`
 * message. The ending one is kept for the `done` message, which carries it with the outcome.
 */
export class WorkerStatusReporter {
  readonly state: MigrationStateMachine;
  #final: StatusChange | undefined;

  constructor(options: MigrationStateMachineOptions, post: (message: StatusMessage) => void) {
    this.state = new MigrationStateMachine(options);
    this.state.onChange((change) => {
      if (isTerminalStatus(change.to)) this.#final = change;
      else post({ type: 'status', from: change.from, to: change.to });
    });
  }

  /**
   * The machine's ending transition. If it has not ended yet it is ended in `to`: a cancel through
   * cancelling; a migration that is cancelling ends cancelled even if it got to the end (the cancel won);
   * 'failed' where `to` is not allowed otherwise.
   */
  finish(to: EndStatus): StatusChange {
    const now = this.state.status;
    if (!isTerminalStatus(now)) {
      if (to === 'cancelled' && (now === 'setup' || now === 'active')) this.state.transition(now, 'cancelling');
      const from = this.state.status;
      const end = this.state.allows(from, to) ? to : from === 'cancelling' ? 'cancelled' : 'failed';
      this.state.transition(from, end);
    }
    return this.#final ?? { from: now, to: now };
  }
}

/** On the main thread: a worker's report, applied only if the machine is still where the worker was. */
export function applyWorkerChange(state: MigrationStateMachine, change: { from: MigrationStatus; to: MigrationStatus }): boolean {
  return state.allows(change.from, change.to) && state.transition(change.from, change.to);
}

/**
 * On the main thread, once the worker is done (`change`: its last transition) or gone (no change): the
 * change is applied if it still can be; otherwise, if the machine still runs, it ends as QEMU's cleanup ends
 * it: a cancelling migration is cancelled (the cancel won), a setup or active one failed. Returns whether
 * the worker's own transition applied.
 */
export function settleWorkerEnd(state: MigrationStateMachine, change?: { from: MigrationStatus; to: MigrationStatus }): boolean {
  if (change !== undefined && applyWorkerChange(state, change)) return true;
  const now = state.status;
  if (isMigrationRunning(now)) state.transition(now, now === 'cancelling' ? 'cancelled' : 'failed');
  return false;
}
