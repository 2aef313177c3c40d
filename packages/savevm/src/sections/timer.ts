// The `timer` section (QEMU's vmstate_timers, v2): be64 cpu_ticks_offset, 8 unused bytes, be64 cpu_clock_offset.
import { be64Signed } from '../wire/bytes.js';
import type { StreamWriter } from '../wire/stream-writer.js';
import type { DeviceSaveSection, LoadContext, LoadSection } from './section.js';
import type { VmdescDevice } from './vmdesc.js';

/** Where QEMU 7.2 registers it with `-machine none`. */
export const TIMER_SECTION = { idstr: 'timer', instanceId: 0, version: 2, sectionId: 0 } as const;
export const TIMER_BODY_SIZE = 24;

const TIMER_VMDESC: VmdescDevice = {
  name: TIMER_SECTION.idstr,
  instance_id: TIMER_SECTION.instanceId,
  vmsd_name: TIMER_SECTION.idstr,
  version: TIMER_SECTION.version,
  fields: [
    { name: 'cpu_ticks_offset', type: 'int64', size: 8 },
    { name: 'unused', type: 'unused_buffer', size: 8 },
    { name: 'cpu_clock_offset', type: 'int64', size: 8 },
  ],
};

/** The source's timer: mig models no guest clock, so both offsets are 0 (what an idle `-machine none` sends). */
export class TimerSaveSection implements DeviceSaveSection {
  readonly iterative = false;
  readonly idstr = TIMER_SECTION.idstr;
  readonly instanceId = TIMER_SECTION.instanceId;
  readonly version = TIMER_SECTION.version;
  readonly sectionId: number;

  constructor(sectionId: number = TIMER_SECTION.sectionId) {
    this.sectionId = sectionId;
  }

  save(out: StreamWriter): void {
    out.zeros(TIMER_BODY_SIZE);
  }

  vmdesc(): VmdescDevice {
    return TIMER_VMDESC;
  }
}

/** The target's timer: reads the two offsets (kept for inspection; no clock is modelled). */
export class TimerLoadSection implements LoadSection {
  readonly iterative = false;
  readonly idstr = TIMER_SECTION.idstr;
  readonly instanceId = TIMER_SECTION.instanceId;
  readonly version = TIMER_SECTION.version;
  cpuTicksOffset: bigint | undefined;
  cpuClockOffset: bigint | undefined;

  begin(): void {}

  parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    context.record = 'timer';
    if (end - p < TIMER_BODY_SIZE) return -TIMER_BODY_SIZE;
    this.cpuTicksOffset = be64Signed(b, p);
    this.cpuClockOffset = be64Signed(b, p + 16);
    context.endBody();
    return TIMER_BODY_SIZE;
  }
}
