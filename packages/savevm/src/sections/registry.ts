// The sections a stream may carry, in QEMU's registration order. Save side: the source's sections with their
// section ids; load side: the target's handlers, found by idstr and instance id as QEMU's find_se does.
import type { LoadSection, SaveSection } from './section.js';

const key = (idstr: string, instanceId: number): string => `${idstr}\u0000${instanceId}`;

/** The source's sections in stream order. Throws for two sections with one section id or one identity. */
export function checkSaveSections(sections: readonly SaveSection[]): readonly SaveSection[] {
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const s of sections) {
    if (!Number.isInteger(s.sectionId) || s.sectionId < 0 || s.sectionId > 0xffffffff) {
      throw new RangeError(`section '${s.idstr}': section id ${s.sectionId} is not a be32`);
    }
    if (ids.has(s.sectionId)) throw new RangeError(`section '${s.idstr}': section id ${s.sectionId} is used twice`);
    if (names.has(key(s.idstr, s.instanceId))) throw new RangeError(`section '${s.idstr}' instance ${s.instanceId} is registered twice`);
    ids.add(s.sectionId);
    names.add(key(s.idstr, s.instanceId));
  }
  return sections;
}

/** The target's handlers by idstr and instance id. */
export class LoadRegistry {
  private readonly byKey = new Map<string, LoadSection>();

  constructor(sections: readonly LoadSection[]) {
    for (const s of sections) {
      const k = key(s.idstr, s.instanceId);
      if (this.byKey.has(k)) throw new RangeError(`load section '${s.idstr}' instance ${s.instanceId} is registered twice`);
      if ((s.minVersion ?? s.version) > s.version) {
        throw new RangeError(`load section '${s.idstr}': minVersion ${s.minVersion} is above version ${s.version}`);
      }
      this.byKey.set(k, s);
    }
  }

  find(idstr: string, instanceId: number): LoadSection | undefined {
    return this.byKey.get(key(idstr, instanceId));
  }

  /** The registered handlers, for error messages ("registered: ram, timer, globalstate"). */
  get names(): string[] {
    return [...this.byKey.values()].map((s) => (s.instanceId === 0 ? s.idstr : `${s.idstr}/${s.instanceId}`));
  }

  get sections(): LoadSection[] {
    return [...this.byKey.values()];
  }
}
