// Turns the command line's -m / -object / -machine memory-backend= into mapped guest RAM blocks.
import type { DaemonConfig } from '../cli/args.js';
import { mapAnonymousMemory, mapFileMemory, type HostMemory } from './host-memory.js';
import type { GuestRamBlock } from './vm.js';

/**
 * QEMU's rule for `-machine none`: the machine's RAM is one RAMBlock at guest-physical 0, named after its
 * backend (`memory-backend=ID`) or `ram` for plain `-m`. Other backends are created but not guest RAM.
 */
export function setUpGuestRam(config: DaemonConfig): GuestRamBlock[] {
  if (config.ramSize === 0) return [];
  const backend = config.memoryBackendId === undefined
    ? undefined
    : config.backends.find((b) => b.id === config.memoryBackendId);
  let memory: HostMemory;
  if (backend?.kind === 'file') {
    memory = mapFileMemory(backend.memPath!, backend.size, backend.share, `memory-backend-file '${backend.id}'`);
  } else {
    memory = mapAnonymousMemory(config.ramSize, backend ? `memory-backend-ram '${backend.id}'` : '-m');
  }
  return [{ idstr: backend?.id ?? 'ram', guestAddress: 0, memory }];
}
