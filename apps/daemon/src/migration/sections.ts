// The sections of this machine's migration stream, in QEMU 7.2's registration order for `-machine none`:
// timer (section id 0), ram (2), globalstate (4). Block migration (1) and later sections plug in here.
import {
  GlobalStateLoadSection,
  GlobalStateSaveSection,
  SavevmSaver,
  StreamReader,
  TimerLoadSection,
  TimerSaveSection,
} from '@mig/savevm';
import { PAGE_SIZE, RamLoader, RamSaveSection, xbzrleDecode, type DirtyBitmap, type GuestRam } from '@mig/ram';

export interface OutgoingSections {
  readonly saver: SavevmSaver;
  readonly ram: RamSaveSection;
}

export function outgoingSections(options: { machine: string; ram: GuestRam; dirty: readonly DirtyBitmap[]; xbzrleCacheBytes?: number }): OutgoingSections {
  const ram = new RamSaveSection({
    ram: options.ram,
    dirty: options.dirty,
    ...(options.xbzrleCacheBytes === undefined ? {} : { xbzrle: options.xbzrleCacheBytes }),
  });
  const saver = new SavevmSaver({ machine: options.machine, sections: [new TimerSaveSection(), ram, new GlobalStateSaveSection()] });
  return { saver, ram };
}

export interface IncomingSections {
  readonly reader: StreamReader;
  readonly ram: RamLoader;
  readonly globalstate: GlobalStateLoadSection;
}

export function incomingSections(options: { machine: string; ram: GuestRam }): IncomingSections {
  const ram = new RamLoader({
    ram: options.ram,
    onXbzrle: (dest, destOffset, src, srcOffset, len) => {
      xbzrleDecode(src, srcOffset, len, dest, destOffset, PAGE_SIZE);
    },
  });
  const globalstate = new GlobalStateLoadSection();
  const reader = new StreamReader({ machine: options.machine, sections: [new TimerLoadSection(), ram.section, globalstate] });
  return { reader, ram, globalstate };
}
