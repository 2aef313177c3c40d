// In a worker thread: the guest's RAM blocks, viewed over the memory the main thread mapped.
import { createRamBlock, GuestRam, PAGE_SIZE } from '@mig/ram';
import type { MigrationUri, TransportRamBlock } from '@mig/transports';
import { viewHostMemory } from '../guest/host-memory.js';
import type { WorkerRamBlock } from './protocol.js';

export function guestRamInWorker(blocks: readonly WorkerRamBlock[]): GuestRam {
  return new GuestRam(blocks.map((b) => createRamBlock(b.idstr, viewHostMemory(b.handle), b.guestAddress)));
}

/**
 * What an rdma: transport needs to move RAM itself (RDMA WRITE into the peer's registered memory, QEMU's RAM
 * path): the blocks in the ram section's order, laid end to end. Other transports carry pages in the stream.
 */
export function transportRam(uri: MigrationUri, ram: GuestRam): { ram?: readonly TransportRamBlock[] } {
  if (uri.kind !== 'rdma') return {};
  return { ram: ram.blocks.map((b, i) => ({ name: b.idstr, offset: ram.firstPage[i]! * PAGE_SIZE, bytes: b.bytes })) };
}
