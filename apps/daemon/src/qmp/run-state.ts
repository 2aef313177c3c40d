// The guest's run state over QMP: query-status, stop, cont, quit (QEMU 7.2's answers, including the
// incoming case where stop/cont only change what happens once the stream has loaded).
import { QmpError, type QmpHandlers } from '@mig/qmp';
import type { RunState } from '../guest/vm.js';

/** What these commands need of the guest and the daemon. */
export interface RunStateControl {
  readonly vm: {
    readonly runstate: RunState;
    readonly running: boolean;
    autostart: boolean;
    start(): void;
    stop(state: RunState): void;
  };
  /** Shuts the daemon down (SHUTDOWN, exit); called after the reply has gone out. */
  quit(): void;
  /** The guest's disk writes in flight have landed (QEMU's stop drains block I/O before it answers). */
  drain?(): Promise<void>;
}

export function runStateHandlers(ctl: RunStateControl): Pick<QmpHandlers, 'query-status' | 'stop' | 'cont' | 'quit'> {
  const { vm } = ctl;
  return {
    'query-status': () => ({ status: vm.runstate, running: vm.running, singlestep: false }),
    stop: async () => {
      if (vm.runstate === 'inmigrate') vm.autostart = false;
      else if (vm.running) {
        vm.stop('paused');
        await ctl.drain?.();
      }
    },
    cont: () => {
      const state = vm.runstate;
      if (state === 'inmigrate') {
        vm.autostart = true;
        return;
      }
      if (state === 'finish-migrate') {
        throw new QmpError('GenericError', 'Migration is not finalized yet');
      }
      vm.start();
    },
    quit: () => {
      setImmediate(() => ctl.quit());
    },
  };
}
