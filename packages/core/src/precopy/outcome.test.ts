import { describe, expect, it } from 'vitest';
import { MigrationCancelledError, MigrationFailedError } from '../errors.js';
import { MigrationStateMachine } from '../status.js';
import { harness } from '../testing/precopy-fakes.js';
import { CancelRequested, raiseFailure } from './failure.js';
import { moveState, settleRun } from './outcome.js';
import { startRun } from './run-context.js';
import { setupPhase } from './setup-phase.js';

const raised = (phase: string, message: string): unknown => {
  try {
    return raiseFailure(phase, message, undefined);
  } catch (err) {
    return err;
  }
};

async function activeRun(over: Parameters<typeof harness>[0] = {}) {
  const h = harness({ pages: 4, ...over });
  const run = startRun(h.opts);
  await setupPhase(run);
  return { h, run };
}

describe('moveState', () => {
  it('moves only where the state machine allows from the state now', () => {
    const s = new MigrationStateMachine('active');
    expect(moveState(s, 'setup')).toBe(false);
    expect(moveState(s, 'cancelling')).toBe(true);
    expect(moveState(s, 'completed')).toBe(false);
    expect(moveState(s, 'cancelled')).toBe(true);
  });
});

describe('settleRun', () => {
  it('a cancel: sink shut, state cancelling → cancelled, the counts of the run', async () => {
    const { h, run } = await activeRun();
    const r = await settleRun(run, new CancelRequested());
    expect(r).toEqual({ status: 'cancelled', passes: 1, bytesWritten: 16 });
    expect(h.sink.destroyedWith).toBeInstanceOf(MigrationCancelledError);
    expect(h.history.slice(-2)).toEqual(['active>cancelling', 'cancelling>cancelled']);
  });

  it('resumes a guest the loop stopped, with its runstate, and reports a failing resume beside the outcome', async () => {
    const { h, run } = await activeRun();
    h.guest.runstate = 'paused';
    await run.guest.stop();
    expect((await settleRun(run, new CancelRequested())).status).toBe('cancelled');
    expect(h.guest.resumes).toEqual(['paused']);
    const b = await activeRun();
    const oops = new Error('cannot restart vCPUs');
    b.h.opts.resumeGuest = () => { throw oops; };
    await b.run.guest.stop();
    const r = await settleRun(b.run, raised('write', 'migration stream write failed: x'));
    expect(r).toMatchObject({ status: 'failed', resumeError: oops });
  });

  it("a failure: sink destroyed with it, state failed, error-desc its message", async () => {
    const { h, run } = await activeRun();
    const err = raised('write', 'migration stream write failed: EPIPE');
    const r = await settleRun(run, err);
    expect(r).toEqual({ status: 'failed', error: err, errorDesc: 'migration stream write failed: EPIPE', passes: 1, bytesWritten: 16 });
    expect(h.sink.destroyedWith).toBe(err);
    expect(h.state.status).toBe('failed');
  });

  it("anything else thrown fails the migration in phase 'internal'", async () => {
    const { run } = await activeRun();
    const r = await settleRun(run, new TypeError('x is not a function'));
    expect(r.error).toBeInstanceOf(MigrationFailedError);
    expect(r.error).toMatchObject({ phase: 'internal', message: 'migration failed: x is not a function' });
    expect(r.error?.cause).toBeInstanceOf(TypeError);
  });

  it('with a cancel asked for: a failure the loop raised stays a failure, any other error is the cancel', async () => {
    const ac = new AbortController();
    const a = await activeRun({ signal: ac.signal });
    ac.abort();
    expect((await settleRun(a.run, raised('end', 'migration stream write failed: reset'))).status).toBe('failed');
    const bc = new AbortController();
    const b = await activeRun({ signal: bc.signal });
    bc.abort();
    expect((await settleRun(b.run, new Error('write after destroy'))).status).toBe('cancelled');
  });

  it('returns the throttle to 0 and stops watching the signal', async () => {
    const sets: number[] = [];
    const ac = new AbortController();
    const { h, run } = await activeRun({ autoConverge: true, setThrottle: (p) => sets.push(p), signal: ac.signal });
    run.throttle.periodEnded(2e6, 1e6, run.params());
    run.throttle.periodEnded(2e6, 1e6, run.params());
    await settleRun(run, raised('iterate', 'migration iterate failed: x'));
    expect(sets).toEqual([20, 0]);
    const destroyed = h.sink.destroyedWith;
    ac.abort();
    expect(h.sink.destroyedWith).toBe(destroyed);
  });

  it('reports the stats once more at the end', async () => {
    const seen: number[] = [];
    const { run } = await activeRun({ onProgress: (s) => seen.push(s.transferred) });
    await settleRun(run, new CancelRequested());
    expect(seen).toEqual([16]);
  });
});
