// What `mig analyze` found in a stream: the shape of its --json output (documented in the README).
import type { RamBlockSize } from '@mig/ram';
import type { DiskImageFile } from './disk-image-out.js';
import type { RamImageFile } from './ram-image-out.js';

export interface SectionRecords {
  start: number;
  part: number;
  end: number;
  full: number;
}

export interface SectionSummary {
  /** The source's section id. */
  id: number;
  idstr: string;
  instanceId: number;
  version: number;
  records: SectionRecords;
  /** Stream bytes of this section's records, headers and footers included. */
  bytes: number;
}

/** Page counts of one pass (a round of the source's page scan; see the README for the definition). */
export interface PageCounts {
  normal: number;
  zero: number;
  xbzrle: number;
  /** Encoded bytes of the XBZRLE pages. */
  xbzrleBytes: number;
}

export interface RamPass extends PageCounts {
  pass: number;
  /** Stream offset of the pass's first page record. */
  streamOffset: number;
}

export interface RamSummary {
  blocks: RamBlockSize[];
  memSizeRecords: number;
  eosRecords: number;
  totals: PageCounts;
  passes: RamPass[];
  /** The pages of the ram SECTION_END record: sent after the guest stopped (the switchover). */
  completion: PageCounts;
  files?: RamImageFile[];
}

export interface BlockDeviceSummary {
  name: string;
  /** Chunk records, data and zero. */
  chunks: number;
  zeroChunks: number;
  /** Distinct chunk offsets; chunks - distinctChunks were sent again (dirty phase). */
  distinctChunks: number;
  /** End of the highest chunk (whole MiB unless the drive's size was given). */
  highestEnd: number;
  /** Non-zero bytes past a given drive size in its last chunk (QEMU sends uninitialised padding). */
  paddingBytes: number;
}

export interface BlockSummary {
  devices: BlockDeviceSummary[];
  /** PROGRESS values as they changed (percent of the source's bulk phase). */
  progress: number[];
  eosRecords: number;
  files?: DiskImageFile[];
}

export interface VmdescSummary {
  bytes: number;
  pageSize?: number;
  devices?: { name: string; instanceId: number; version: number }[];
  /** Set when the VMDESCRIPTION is not the JSON QEMU writes (loaders ignore it; so does the analysis). */
  error?: string;
}

export interface StreamDamage {
  offset: number;
  record: string;
  message: string;
}

export interface AnalysisResult {
  input: string;
  /** Stream bytes read. */
  bytes: number;
  /** Decoded up to EOF (and VMDESCRIPTION, if any) with no defect. */
  complete: boolean;
  damage?: StreamDamage;
  version?: number;
  machine?: string;
  /** The source's run state before the switchover (globalstate). */
  runstate?: string;
  sections: SectionSummary[];
  ram?: RamSummary;
  block?: BlockSummary;
  eof: boolean;
  vmdesc?: VmdescSummary;
  notes: string[];
}

export function noPages(): PageCounts {
  return { normal: 0, zero: 0, xbzrle: 0, xbzrleBytes: 0 };
}
