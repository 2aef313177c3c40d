// Descriptors for fd: migrations, made by the harness (not by the VMs): socket pairs and pipes, handed to a
// VM with getfd over its unix QMP socket (SCM_RIGHTS, the same route @mig/qmp's server reads) or inherited
// at launch (LaunchOptions.inheritFds, for `-incoming fd:N`).
import { closeDescriptor, pipePair, socketPair } from '@mig/qmp';
import type { Vm } from './vm.js';

export { closeDescriptor, pipePair, socketPair };

/** `getfd {"fdname": NAME}` with `fd` attached; the VM gets its own copy, ours stays open. */
export async function handDescriptor(vm: Vm, fdname: string, fd: number): Promise<void> {
  await vm.qmp.getfd(fdname, fd);
}
