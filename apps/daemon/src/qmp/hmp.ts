// human-monitor-command: the HMP commands harnesses use (`info status`, `info migrate`, `qemu-io`), answered
// as QEMU's HMP lines; anything else is an unknown command, as HMP says it.
import type { QmpHandlers } from '@mig/qmp';

export interface HmpControl {
  runstate(): string;
  /** The query-migrate reply (shown as JSON by `info migrate`). */
  queryMigrate(): unknown;
  /** `qemu-io ...`: `rest` is the line after the command name; resolves to qemu-io's output. */
  qemuIo(rest: string): Promise<string>;
}

export function hmpHandlers(ctl: HmpControl): Pick<QmpHandlers, 'human-monitor-command'> {
  return {
    'human-monitor-command': (args) => {
      const line = args['command-line'].trim();
      if (line === 'info status') return `VM status: ${ctl.runstate()}\r\n`;
      if (line === 'info migrate') return `${JSON.stringify(ctl.queryMigrate())}\r\n`;
      const [name] = line.split(/\s/, 1);
      if (name === 'qemu-io') return ctl.qemuIo(line.slice(name.length));
      return `unknown command: '${line.split(/\s+/)[0] ?? ''}'\r\n`;
    },
  };
}
