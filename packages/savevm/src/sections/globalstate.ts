// The `globalstate` section (QEMU's vmstate_globalstate, v1): be32 size (strlen + 1), then the source's run
// state in a 100-byte NUL-padded buffer. The target resumes the guest only if it says `running`.
import { RUN_STATES } from '../wire/constants.js';
import { latin1, printable } from '../wire/bytes.js';
import type { StreamWriter } from '../wire/stream-writer.js';
import type { DeviceSaveSection, LoadContext, LoadSection, SaveContext } from './section.js';
import type { VmdescDevice } from './vmdesc.js';

export const GLOBALSTATE_SECTION = { idstr: 'globalstate', instanceId: 0, version: 1, sectionId: 4 } as const;
export const GLOBALSTATE_RUNSTATE_SIZE = 100;
export const GLOBALSTATE_BODY_SIZE = 4 + GLOBALSTATE_RUNSTATE_SIZE;

const GLOBALSTATE_VMDESC: VmdescDevice = {
  name: GLOBALSTATE_SECTION.idstr,
  instance_id: GLOBALSTATE_SECTION.instanceId,
  vmsd_name: GLOBALSTATE_SECTION.idstr,
  version: GLOBALSTATE_SECTION.version,
  fields: [
    { name: 'size', type: 'uint32', size: 4 },
    { name: 'runstate', type: 'buffer', size: GLOBALSTATE_RUNSTATE_SIZE },
  ],
};

export class GlobalStateSaveSection implements DeviceSaveSection {
  readonly iterative = false;
  readonly idstr = GLOBALSTATE_SECTION.idstr;
  readonly instanceId = GLOBALSTATE_SECTION.instanceId;
  readonly version = GLOBALSTATE_SECTION.version;
  readonly sectionId: number;

  constructor(sectionId: number = GLOBALSTATE_SECTION.sectionId) {
    this.sectionId = sectionId;
  }

  save(out: StreamWriter, { runstate }: SaveContext): void {
    if (!RUN_STATES.has(runstate)) throw new RangeError(`unknown runstate '${runstate}'`);
    const name = Buffer.from(runstate, 'latin1');
    out.reserve(GLOBALSTATE_BODY_SIZE);
    out.be32(name.length + 1);
    out.bytes(name);
    out.zeros(GLOBALSTATE_RUNSTATE_SIZE - name.length);
  }

  vmdesc(): VmdescDevice {
    return GLOBALSTATE_VMDESC;
  }
}

export class GlobalStateLoadSection implements LoadSection {
  readonly iterative = false;
  readonly idstr = GLOBALSTATE_SECTION.idstr;
  readonly instanceId = GLOBALSTATE_SECTION.instanceId;
  readonly version = GLOBALSTATE_SECTION.version;
  /** The source's run state, once the section was read. */
  runstate: string | undefined;

  begin(): void {}

  parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    context.record = 'globalstate';
    if (end - p < GLOBALSTATE_BODY_SIZE) return -GLOBALSTATE_BODY_SIZE;
    const start = p + 4;
    let nul = start;
    while (nul < start + GLOBALSTATE_RUNSTATE_SIZE && b[nul] !== 0) nul++;
    if (nul === start + GLOBALSTATE_RUNSTATE_SIZE) throw context.error('runstate is not NUL-terminated within 100 bytes');
    const runstate = latin1(b, start, nul);
    if (!RUN_STATES.has(runstate)) throw context.error(`invalid runstate '${printable(b, start, nul)}'`);
    this.runstate = runstate;
    context.endBody();
    return GLOBALSTATE_BODY_SIZE;
  }
}
