// The sections of this machine's migration stream, in QEMU 7.2's registration order for `-machine none`:
// timer (section id 0), block (1, with capability block), ram (2), globalstate (4).
import type { MessagePort } from 'node:worker_threads';
import { BlockLoader, BlockSaveSection } from '@mig/block';
import {
  GlobalStateLoadSection,
  GlobalStateSaveSection,
  SavevmSaver,
  StreamReader,
  TimerLoadSection,
  TimerSaveSection,
  type LoadSection,
  type SaveSection,
} from '@mig/savevm';
import type { RamLoadControl, RamSaveControl } from '@mig/core';
import { PAGE_SIZE, RamLoader, RamSaveSection, xbzrleDecode, type DirtyBitmap, type GuestRam } from '@mig/ram';
import type { WorkerDriveInfo } from '../block/drive-protocol.js';
import { allocateChunkBuffer, remoteSourceDevices, remoteTargetDevices } from '../block/remote-drives.js';

export interface OutgoingSections {
  readonly saver: SavevmSaver;
  readonly ram: RamSaveSection;
  readonly block: BlockSaveSection | undefined;
}

export interface OutgoingBlockOptions {
  readonly drives: readonly WorkerDriveInfo[];
  readonly port: MessagePort;
  readonly incremental: boolean;
  readonly zeroBlocks: boolean;
}

export function outgoingSections(options: {
  machine: string;
  ram: GuestRam;
  dirty: readonly DirtyBitmap[];
  xbzrleCacheBytes?: number;
  block?: OutgoingBlockOptions;
  /** The transport's RAM hook (rdma: pages by RDMA WRITE, HOOK records in the stream). */
  ramControl?: RamSaveControl;
}): OutgoingSections {
  const ram = new RamSaveSection({
    ram: options.ram,
    dirty: options.dirty,
    ...(options.xbzrleCacheBytes === undefined ? {} : { xbzrle: options.xbzrleCacheBytes }),
    ...(options.ramControl === undefined ? {} : { control: options.ramControl }),
  });
  const b = options.block;
  // QEMU's block migration leaves read-only drives alone
  const block = b === undefined ? undefined : new BlockSaveSection({
    devices: remoteSourceDevices(b.port, b.drives.filter((d) => !d.readOnly)),
    incremental: b.incremental,
    zeroBlocks: b.zeroBlocks,
    allocateBuffer: allocateChunkBuffer,
  });
  const sections: SaveSection[] = [new TimerSaveSection(), ...(block ? [block] : []), ram, new GlobalStateSaveSection()];
  return { saver: new SavevmSaver({ machine: options.machine, sections }), ram, block };
}

export interface IncomingSections {
  readonly reader: StreamReader;
  readonly ram: RamLoader;
  readonly block: BlockLoader | undefined;
  readonly globalstate: GlobalStateLoadSection;
  /** The handlers registered with the reader, in registration order. */
  readonly sections: readonly LoadSection[];
}

export function incomingSections(options: {
  machine: string;
  ram: GuestRam;
  block?: { drives: readonly WorkerDriveInfo[]; port: MessagePort };
  /** The transport's RAM hook (rdma: HOOK records run its registration handling). */
  ramControl?: RamLoadControl;
}): IncomingSections {
  const ram = new RamLoader({
    ram: options.ram,
    ...(options.ramControl === undefined ? {} : { control: options.ramControl }),
    onXbzrle: (dest, destOffset, src, srcOffset, len) => {
      xbzrleDecode(src, srcOffset, len, dest, destOffset, PAGE_SIZE);
    },
  });
  const b = options.block;
  const block = b === undefined ? undefined : new BlockLoader({ devices: remoteTargetDevices(b.port, b.drives), allocateBuffer: allocateChunkBuffer });
  const globalstate = new GlobalStateLoadSection();
  const sections: LoadSection[] = [new TimerLoadSection(), ...(block ? [block.section] : []), ram.section, globalstate];
  return { reader: new StreamReader({ machine: options.machine, sections }), ram, block, globalstate, sections };
}
