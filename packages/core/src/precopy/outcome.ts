import { MigrationFailedError, errorMessage } from '../errors.js';
import { isTransitionAllowed, type MigrationStateMachine, type MigrationStatus } from '../status.js';
import { CancelRequested, isRaisedFailure } from './failure.js';
import type { PrecopyResult } from './options.js';
import type { PrecopyRun } from './run-context.js';

/** Moves the state to `to` if that is allowed from where it is now; returns whether it did. */
export function moveState(state: MigrationStateMachine, to: MigrationStatus): boolean {
  const from = state.status;
  return isTransitionAllowed(from, to) && state.transition(from, to);
}

/**
 * A run that did not complete: `err` is what unwound it. A cancel (asked for before a failure of the loop's own
 * was raised) ends 'cancelled'; anything else 'failed' with error-desc. Either way the throttle goes back to 0,
 * the sink is shut and a guest the loop had stopped is resumed.
 */
export async function settleRun(run: PrecopyRun, err: unknown): Promise<PrecopyResult> {
  run.cancel.detach();
  run.stall.stop();
  run.throttle.stop();
  if (err instanceof CancelRequested || (run.cancel.requested && !isRaisedFailure(err))) return cancelled(run);
  return failed(run, err);
}

async function cancelled(run: PrecopyRun): Promise<PrecopyResult> {
  run.cancel.shutSink();
  await run.guest.resume();
  const s = run.state.status;
  if (s === 'setup' || s === 'active') moveState(run.state, 'cancelling');
  moveState(run.state, 'cancelled');
  run.opts.onProgress?.(run.stats);
  return { status: 'cancelled', ...ended(run) };
}

async function failed(run: PrecopyRun, err: unknown): Promise<PrecopyResult> {
  const error =
    err instanceof MigrationFailedError
      ? err
      : new MigrationFailedError('internal', `migration failed: ${errorMessage(err)}`, { cause: err });
  run.sink.destroy(error);
  await run.guest.resume();
  moveState(run.state, 'failed');
  run.opts.onProgress?.(run.stats);
  return { status: 'failed', error, errorDesc: error.message, ...ended(run) };
}

function ended(run: PrecopyRun): Pick<PrecopyResult, 'passes' | 'bytesWritten' | 'resumeError'> {
  const resumeError = run.guest.resumeError;
  return {
    passes: run.syncs.passes,
    bytesWritten: run.output.written,
    ...(resumeError !== undefined && { resumeError }),
  };
}
