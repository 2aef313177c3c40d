// The VMDESCRIPTION JSON that follows EOF: the target page size and, per vmstate section written, its fields.

export interface VmdescField {
  readonly name: string;
  readonly type: string;
  readonly size: number;
}

/** One `devices` entry, as QEMU's vmstate_save writes it. */
export interface VmdescDevice {
  readonly name: string;
  readonly instance_id: number;
  readonly vmsd_name: string;
  readonly version: number;
  readonly fields: readonly VmdescField[];
}

/** The JSON of a VMDESCRIPTION, spelled as QEMU's JSON writer spells it (", " and ": " separators). */
export function vmdescJson(pageSize: number, devices: readonly VmdescDevice[]): string {
  return qemuJson({ page_size: pageSize, devices });
}

/** JSON in QEMU's spacing: `{"a": 1, "b": [2, 3]}`. */
export function qemuJson(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(qemuJson).join(', ') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ': ' + qemuJson(x)).join(', ') + '}';
  }
  return JSON.stringify(v);
}
