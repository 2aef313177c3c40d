// qemu-io through HMP (`human-monitor-command`): how tests write a drive of a running QEMU (or mig-daemon)
// that has no guest. QEMU prints qemu-io's report on its own stdout/stderr, not in the HMP reply, so the
// report is taken from there too, and failures (which HMP does not signal) are recognised in it.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Vm } from './vm.js';

export class HmpQemuIoError extends Error {
  constructor(readonly drive: string, readonly command: string, readonly output: string) {
    super(`qemu-io ${drive} "${command}" failed: ${output.trim() || 'no output'}`);
    this.name = 'HmpQemuIoError';
  }
}

// What qemu-io and HMP print when a command did not do its job (seen with QEMU 7.2).
const FAILURE = /failed|error|not found|read-only|permission denied|cannot|invalid/i;
const OUTPUT_WAIT_MS = 500;

/**
 * Runs `qemu-io DRIVE "CMD"` (e.g. `write -P 0xab 0 1M`, `write -z 1M 64k`, `read -P 0xab 0 1M`) and returns
 * its report. Throws HmpQemuIoError when the report says it failed (bad range, read-only drive, unknown
 * drive, pattern mismatch, parse error). `drive` is a -drive id or a node name.
 */
export async function hmpQemuIo(vm: Vm, drive: string, cmd: string): Promise<string> {
  if (drive === '' || /["\s]/.test(drive)) throw new RangeError(`hmpQemuIo: bad drive name '${drive}'`);
  if (cmd.includes('"')) throw new RangeError(`hmpQemuIo: the qemu-io command may not contain '"': ${cmd}`);
  const out0 = vm.stdout.length;
  const err0 = vm.stderr.length;
  const reply = await vm.qmp.execute('human-monitor-command', { 'command-line': `qemu-io ${drive} "${cmd}"` });
  let output = typeof reply === 'string' ? reply : '';
  if (vm.kind === 'qemu' && output === '') {
    const deadline = Date.now() + OUTPUT_WAIT_MS;
    while (vm.stdout.length === out0 && vm.stderr.length === err0 && Date.now() < deadline) await sleep(2);
    output = vm.stdout.slice(out0) + vm.stderr.slice(err0);
  }
  if (FAILURE.test(output)) throw new HmpQemuIoError(drive, cmd, output);
  return output;
}
