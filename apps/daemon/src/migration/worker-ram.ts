// In a worker thread: the guest's RAM blocks, viewed over the memory the main thread mapped.
import { createRamBlock, GuestRam } from '@mig/ram';
import { viewHostMemory } from '../guest/host-memory.js';
import type { WorkerRamBlock } from './protocol.js';

export function guestRamInWorker(blocks: readonly WorkerRamBlock[]): GuestRam {
  return new GuestRam(blocks.map((b) => createRamBlock(b.idstr, viewHostMemory(b.handle), b.guestAddress)));
}
