import { CancelRequested, guardStep, raiseFailure } from './failure.js';
import type { PrecopyResult } from './options.js';
import { moveState } from './outcome.js';
import type { PrecopyRun } from './run-context.js';
import { waitForSaver } from './saver-ready.js';
import { syncDirty } from './sync-step.js';

/**
 * The switchover (QEMU's migration_completion): stopGuest(), the last dirty sync, what it left in batches of at
 * most maxBatch (memory stays bounded however much is left), saver.complete(runstate) for the trailer (its own
 * sync finds nothing more: the guest is stopped), then sink.end(). From sink.end() on, the signal is ignored.
 */
export async function switchover(run: PrecopyRun): Promise<void> {
  run.cancel.check();
  run.recorder.downtimeStarted(run.now());
  await run.guest.stop();
  run.cancel.check();
  await sendRest(run);
  guardStep('complete', 'completion', () => run.saver.complete(run.guest.runstate));
  await run.output.flush();
  run.cancel.check();
  run.cancel.detach(); // from here the signal is ignored: the stream is whole
  run.stall.enter(); // a target that stops reading now is still caught by x-stall-timeout
  try {
    await run.sink.end();
  } catch (err) {
    run.output.failed(err, 'end');
  } finally {
    run.stall.leave();
  }
  run.output.countControlBytes(); // the transport's last writes went out before the stream's end
}

async function sendRest(run: PrecopyRun): Promise<void> {
  let left = syncDirty(run);
  run.recorder.remaining(left);
  while (left > 0) {
    run.cancel.check();
    guardStep('complete', 'completion', () => run.saver.iterate(run.maxBatch));
    const sent = await run.output.flush();
    const after = run.saver.pendingBytes(run.meter.thresholdBytes);
    if (after >= left) {
      // no progress: a saver waiting for its own I/O gets it; otherwise complete() sends whatever it still holds
      if (sent > 0 || run.saver.whenReady?.() === undefined) break;
      await waitForSaver(run, 'complete');
      continue;
    }
    left = after;
    run.recorder.remaining(left);
  }
}

/**
 * The stream ended: downtime and the run's figures, the throttle back to 0, state → completed. A 'cancelling'
 * set during sink.end() wins as in QEMU (the source resumes): the state cannot complete from it.
 */
export function completeRun(run: PrecopyRun): PrecopyResult {
  run.stall.stop();
  run.recorder.completed(run.now(), run.output.transferred);
  run.throttle.stop();
  run.opts.onProgress?.(run.stats);
  if (run.state.status === 'cancelling') throw new CancelRequested();
  if (!moveState(run.state, 'completed')) {
    raiseFailure('complete', `migration could not complete from state '${run.state.status}'`, undefined);
  }
  return { status: 'completed', passes: run.syncs.passes, bytesWritten: run.output.written };
}
