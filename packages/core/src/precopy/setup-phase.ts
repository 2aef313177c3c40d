import { CancelRequested, guardStep } from './failure.js';
import type { PrecopyRun } from './run-context.js';
import { syncDirty } from './sync-step.js';

/**
 * Setup (QEMU's qemu_savevm_state_setup and the first bitmap sync): saver.setup(), its output written, the
 * first dirty sync (pass 1, the bulk pass), ram.total/remaining, setup-time, then state setup → active.
 */
export async function setupPhase(run: PrecopyRun): Promise<void> {
  run.cancel.check();
  guardStep('setup', 'setup', () => run.saver.setup());
  await run.output.flush();
  run.cancel.check();
  const pending = syncDirty(run);
  run.recorder.setupSynced(run.opts.totalBytes ?? pending, pending);
  run.cancel.check();
  run.recorder.setupDone(run.now());
  if (!run.state.transition('setup', 'active')) throw new CancelRequested();
}
