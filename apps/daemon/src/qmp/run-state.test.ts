import { describe, expect, it, vi } from 'vitest';
import type { RunState } from '../guest/vm.js';
import { runStateHandlers, type RunStateControl } from './run-state.js';
import { call, qmpErrorOf } from '../../test/qmp-call.js';

function fakeVm(runstate: RunState): RunStateControl['vm'] & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    runstate,
    autostart: true,
    get running() {
      return this.runstate === 'running';
    },
    start() {
      calls.push('start');
      this.runstate = 'running';
    },
    stop(state: RunState) {
      calls.push(`stop ${state}`);
      this.runstate = state;
    },
  } as RunStateControl['vm'] & { calls: string[]; runstate: RunState };
}

describe('run-state handlers', () => {
  it('query-status as QEMU 7.2 answers it', () => {
    const h = runStateHandlers({ vm: fakeVm('paused'), quit: () => {} });
    expect(call(h['query-status'])).toEqual({ status: 'paused', running: false, singlestep: false });
  });

  it('stop pauses a running guest; on a waiting target it only clears autostart', () => {
    const running = fakeVm('running');
    call(runStateHandlers({ vm: running, quit: () => {} }).stop);
    expect(running.calls).toEqual(['stop paused']);
    const target = fakeVm('inmigrate');
    call(runStateHandlers({ vm: target, quit: () => {} }).stop);
    expect([target.calls, target.autostart, target.runstate]).toEqual([[], false, 'inmigrate']);
    const paused = fakeVm('paused');
    call(runStateHandlers({ vm: paused, quit: () => {} }).stop);
    expect(paused.calls).toEqual([]);
  });

  it('cont starts the guest, sets autostart on a waiting target, and is refused in finish-migrate', async () => {
    const paused = fakeVm('paused');
    call(runStateHandlers({ vm: paused, quit: () => {} }).cont);
    expect(paused.calls).toEqual(['start']);
    const target = fakeVm('inmigrate');
    target.autostart = false;
    call(runStateHandlers({ vm: target, quit: () => {} }).cont);
    expect([target.calls, target.autostart]).toEqual([[], true]);
    const switching = fakeVm('finish-migrate');
    expect(await qmpErrorOf(() => call(runStateHandlers({ vm: switching, quit: () => {} }).cont))).toBe('GenericError: Migration is not finalized yet');
    expect(switching.calls).toEqual([]);
  });

  it('quit replies first and shuts down after', async () => {
    const quit = vi.fn();
    call(runStateHandlers({ vm: fakeVm('running'), quit }).quit);
    expect(quit).not.toHaveBeenCalled();
    await new Promise((r) => setImmediate(r));
    expect(quit).toHaveBeenCalledTimes(1);
  });
});
