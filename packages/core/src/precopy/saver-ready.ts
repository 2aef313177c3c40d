import { errorMessage } from '../errors.js';
import { raiseFailure } from './failure.js';
import type { PrecopyRun } from './run-context.js';

/**
 * The saver wrote nothing although bytes are pending: wait until it can write again (its sections' own I/O,
 * e.g. disk reads in flight), a cancel, or — for a saver that cannot tell — one turn of the event loop, so the
 * loop never spins without letting I/O complete. A section that fails its I/O fails the migration in `phase`.
 */
export async function waitForSaver(run: PrecopyRun, phase: string): Promise<void> {
  const ready = run.saver.whenReady?.();
  if (ready === undefined) {
    await run.sleep(1);
    return;
  }
  try {
    await Promise.race([ready, run.cancel.whenRequested()]);
  } catch (err) {
    run.cancel.check();
    raiseFailure(phase, `migration ${phase} failed: ${errorMessage(err)}`, err);
  }
  run.cancel.check();
}
