// Counts the framing's records per section (FramingObserver) and keeps the VMDESCRIPTION.
import type { FramingObserver } from '@mig/savevm';
import type { SectionSummary, VmdescSummary } from './analysis-result.js';

/** The bytes of a section footer (0x7e + be32 section id). */
const FOOTER_BYTES = 5;

export class SectionCensus implements FramingObserver {
  version: number | undefined;
  machine: string | undefined;
  eof = false;
  vmdesc: VmdescSummary | undefined;
  private readonly byId = new Map<number, SectionSummary>();
  private recordStart = 0;

  constructor(private readonly streamOffset: () => number) {}

  get sections(): SectionSummary[] {
    return [...this.byId.values()].map((s) => ({ ...s, records: { ...s.records } }));
  }

  onHeader(version: number): void {
    this.version = version;
  }

  onConfiguration(machine: string): void {
    this.machine = machine;
  }

  onSectionStart(id: number, idstr: string, instanceId: number, version: number): void {
    this.add(id, idstr, instanceId, version).records.start++;
  }

  onSectionFull(id: number, idstr: string, instanceId: number, version: number): void {
    this.add(id, idstr, instanceId, version).records.full++;
  }

  onSectionPart(id: number): void {
    this.opened(id).records.part++;
  }

  onSectionEnd(id: number): void {
    this.opened(id).records.end++;
  }

  onFooter(id: number): void {
    const s = this.byId.get(id);
    if (s) s.bytes += this.streamOffset() + FOOTER_BYTES - this.recordStart;
  }

  onEof(): void {
    this.eof = true;
  }

  onVmdesc(json: string): void {
    this.vmdesc = summarizeVmdesc(json);
  }

  private add(id: number, idstr: string, instanceId: number, version: number): SectionSummary {
    const s: SectionSummary = { id, idstr, instanceId, version, records: { start: 0, part: 0, end: 0, full: 0 }, bytes: 0 };
    this.byId.set(id, s); // the reader refuses a section id started twice
    this.recordStart = this.streamOffset();
    return s;
  }

  private opened(id: number): SectionSummary {
    this.recordStart = this.streamOffset();
    return this.byId.get(id)!; // the reader checked that the section was started
  }
}

/** QEMU's vmdesc: {"page_size": N, "devices": [{"name", "instance_id", "version", ...}]}. */
export function summarizeVmdesc(json: string): VmdescSummary {
  const bytes = Buffer.byteLength(json);
  try {
    const v = JSON.parse(json) as { page_size?: unknown; devices?: unknown };
    const devices = Array.isArray(v.devices)
      ? v.devices.map((d: { name?: unknown; instance_id?: unknown; version?: unknown }) => ({
          name: String(d.name),
          instanceId: Number(d.instance_id),
          version: Number(d.version),
        }))
      : undefined;
    return { bytes, ...(typeof v.page_size === 'number' ? { pageSize: v.page_size } : {}), ...(devices ? { devices } : {}) };
  } catch (e) {
    return { bytes, error: `not JSON: ${(e as Error).message}` };
  }
}
