// Shared by the block migration tests: whole -machine none streams with a `block` section, on both sides.
import { GlobalStateLoadSection, GlobalStateSaveSection, SavevmSaver, StreamReader, TimerLoadSection, TimerSaveSection } from '@mig/savevm';
import { GuestRam, RamLoader, RamSaveSection, createRamBlock, DirtyBitmap } from '@mig/ram';
import { BlockLoader, type BlockLoaderOptions } from '../src/migration/block-loader.js';
import { BlockSaveSection, type BlockSaveSectionOptions } from '../src/migration/block-save-section.js';

/** A target of QEMU's `-machine none -m N` (RAM block `ram`) with drives: the reader and what it fills. */
export function machineNoneTarget(ramBytes: number, block: BlockLoaderOptions) {
  const ram = new GuestRam([createRamBlock('ram', new Uint8Array(ramBytes))]);
  const ramLoader = new RamLoader({ ram });
  const blockLoader = new BlockLoader(block);
  const globalstate = new GlobalStateLoadSection();
  const reader = new StreamReader({
    machine: 'none',
    sections: [new TimerLoadSection(), blockLoader.section, ramLoader.section, globalstate],
  });
  return { reader, ram, ramLoader, blockLoader, globalstate };
}

/** Pushes `stream` in `chunk`-byte pieces, awaiting the reader's backpressure between pushes, then ends and flushes. */
export async function loadStream(reader: StreamReader, stream: Uint8Array, chunk = 65536): Promise<void> {
  for (let p = 0; p < stream.length; p += chunk) {
    reader.push(stream.subarray(p, p + chunk));
    await reader.backpressure();
  }
  reader.end();
  await reader.flush();
}

/** A source of such a stream: timer, block, ram (a small zero guest), globalstate. */
export function machineNoneSource(block: BlockSaveSectionOptions, ramBytes = 64 * 4096) {
  const ram = new GuestRam([createRamBlock('ram', new Uint8Array(ramBytes))]);
  const ramSection = new RamSaveSection({ ram, dirty: new DirtyBitmap(ram.totalPages) });
  const blockSection = new BlockSaveSection(block);
  const saver = new SavevmSaver({
    machine: 'none',
    sections: [new TimerSaveSection(), blockSection, ramSection, new GlobalStateSaveSection()],
  });
  return { saver, blockSection, ramSection };
}
