// x-mig-disk-workload and x-mig-query-disk-workload: start, change or stop the disk workload of a drive (mig only).
import { QmpError, type QmpHandlers } from '@mig/qmp';
import { completeDiskWorkload, type DiskWorkloadSettings } from '../guest/disk-workload-config.js';
import type { DiskWorkloads } from '../guest/disk-workloads.js';
import { WorkloadConfigError } from '../guest/workload-config.js';

export interface DiskWorkloadControl {
  readonly workloads: Pick<DiskWorkloads, 'get' | 'of' | 'info'>;
}

const fail = (message: string): never => {
  throw new QmpError('GenericError', `x-mig-disk-workload: ${message}`);
};

export function diskWorkloadHandlers({ workloads }: DiskWorkloadControl): Pick<QmpHandlers, 'x-mig-disk-workload' | 'x-mig-query-disk-workload'> {
  return {
    'x-mig-disk-workload': (args) => {
      if (args.action === 'stop') {
        workloads.get(args.drive)?.stop();
        return;
      }
      let workload;
      try {
        workload = workloads.of(args.drive);
      } catch (err) {
        return fail((err as Error).message);
      }
      const current = workload.config;
      const rate = args.rate ?? current?.rate ?? fail("give 'rate' (bytes per second) first");
      const next: DiskWorkloadSettings = { ...current, rate };
      if (args.offset !== undefined) {
        next.offset = args.offset;
        if (args.length === undefined) delete next.length; // the rest of the drive from the new offset
      }
      if (args.length !== undefined) next.length = args.length;
      if (args.pattern !== undefined) next.pattern = args.pattern;
      if (args.block !== undefined) next.block = args.block;
      try {
        workload.configure(completeDiskWorkload(next, workload.drive.size));
      } catch (err) {
        if (err instanceof WorkloadConfigError) fail(err.message);
        throw err;
      }
      if (args.action === 'start') workload.start();
    },
    'x-mig-query-disk-workload': () => workloads.info(),
  };
}
