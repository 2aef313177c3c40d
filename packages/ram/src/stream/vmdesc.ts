import { GLOBALSTATE_RUNSTATE_SIZE, GLOBALSTATE_SECTION, TIMER_SECTION } from '../wire/constants.js';
import { PAGE_SIZE } from '../memory/constants.js';

/**
 * The VMDESCRIPTION JSON QEMU 7.2 writes for `-machine none` (timer and globalstate; ram has no
 * vmstate description). Spelled as QEMU's JSON writer spells it: ", " and ": " separators.
 */
export function machineNoneVmdesc(): string {
  const desc = {
    page_size: PAGE_SIZE,
    devices: [
      {
        name: TIMER_SECTION.idstr,
        instance_id: TIMER_SECTION.instanceId,
        vmsd_name: TIMER_SECTION.idstr,
        version: TIMER_SECTION.version,
        fields: [
          { name: 'cpu_ticks_offset', type: 'int64', size: 8 },
          { name: 'unused', type: 'unused_buffer', size: 8 },
          { name: 'cpu_clock_offset', type: 'int64', size: 8 },
        ],
      },
      {
        name: GLOBALSTATE_SECTION.idstr,
        instance_id: GLOBALSTATE_SECTION.instanceId,
        vmsd_name: GLOBALSTATE_SECTION.idstr,
        version: GLOBALSTATE_SECTION.version,
        fields: [
          { name: 'size', type: 'uint32', size: 4 },
          { name: 'runstate', type: 'buffer', size: GLOBALSTATE_RUNSTATE_SIZE },
        ],
      },
    ],
  };
  return qemuJson(desc);
}

/** JSON in QEMU's spacing: `{"a": 1, "b": [2, 3]}`. Strings here are plain ASCII. */
function qemuJson(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(qemuJson).join(', ') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ': ' + qemuJson(x)).join(', ') + '}';
  }
  return JSON.stringify(v);
}
