// x-mig-workload and x-mig-query-workload: start, change or stop the guest's workload (mig only).
import { QmpError, type QmpHandlers } from '@mig/qmp';
import { completeWorkload, WorkloadConfigError, type WorkloadConfig } from '../guest/workload-config.js';
import type { Workload } from '../guest/workload.js';

export interface WorkloadControl {
  readonly workload: Pick<Workload, 'config' | 'configure' | 'start' | 'stop' | 'info'>;
  /** Guest RAM in bytes (the workload's range must fit). */
  readonly ramSize: number;
}

export function workloadHandlers({ workload, ramSize }: WorkloadControl): Pick<QmpHandlers, 'x-mig-workload' | 'x-mig-query-workload'> {
  return {
    'x-mig-workload': (args) => {
      const current = workload.config;
      const rate = args['dirty-rate'] ?? current?.dirtyRate;
      if (args.action === 'stop') {
        workload.stop();
        return;
      }
      if (rate === undefined) throw new QmpError('GenericError', "x-mig-workload: give 'dirty-rate' (bytes of pages per second) first");
      const next: Partial<WorkloadConfig> & { dirtyRate: number } = { ...current, dirtyRate: rate };
      if (args.wss !== undefined) next.wss = args.wss;
      if (args.offset !== undefined) next.offset = args.offset;
      if (args.pattern !== undefined) next.pattern = args.pattern;
      try {
        workload.configure(completeWorkload(next, ramSize));
      } catch (err) {
        if (err instanceof WorkloadConfigError) throw new QmpError('GenericError', `x-mig-workload: ${err.message}`);
        throw err;
      }
      if (args.action === 'start') workload.start();
    },
    'x-mig-query-workload': () => workload.info(),
  };
}
