// `mig analyze` for a person: what the stream holds, as aligned tables.
import type { AnalysisResult, BlockSummary, PageCounts, RamSummary, SectionSummary } from './analysis-result.js';

export function sizeText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** Rows of cells as left-aligned (text) or right-aligned (numbers) columns. */
export function table(rows: readonly (readonly (string | number)[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  return rows.map((r) => indent + r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function headline(r: AnalysisResult): string {
  const state = r.complete ? 'complete' : r.damage ? `damaged at byte ${r.damage.offset} (${r.damage.record} record)` : 'incomplete';
  const what = [r.version !== undefined ? `savevm v${r.version}` : undefined, r.machine !== undefined ? `machine '${r.machine}'` : undefined, r.runstate !== undefined ? `runstate ${r.runstate}` : undefined];
  return `stream ${r.input}: ${r.bytes} bytes (${sizeText(r.bytes)}), ${state}${what.some(Boolean) ? `; ${what.filter(Boolean).join(', ')}` : ''}`;
}

function sectionLines(sections: readonly SectionSummary[]): string[] {
  if (sections.length === 0) return ['sections: none'];
  const rows: (string | number)[][] = [['id', 'section', 'instance', 'version', 'START', 'PART', 'END', 'FULL', 'bytes']];
  for (const s of sections) rows.push([s.id, s.idstr, s.instanceId, s.version, s.records.start, s.records.part, s.records.end, s.records.full, s.bytes]);
  return ['sections:', ...table(rows)];
}

function pageRow(label: string | number, c: PageCounts): (string | number)[] {
  return [label, c.normal, c.zero, c.xbzrle, c.xbzrleBytes];
}

function ramLines(ram: RamSummary): string[] {
  const blocks = ram.blocks.map((b) => `${b.idstr} (${sizeText(b.usedLength)})`).join(', ') || 'none';
  const rows: (string | number)[][] = [['pass', 'normal', 'zero', 'xbzrle', 'xbzrle bytes', 'from byte']];
  for (const p of ram.passes) rows.push([...pageRow(p.pass, p), p.streamOffset]);
  rows.push(pageRow('total', ram.totals));
  rows.push(pageRow('at switchover', ram.completion));
  const lines = [`ram: ${ram.blocks.length} block(s): ${blocks}; ${ram.passes.length} pass(es) (rounds of the page scan)`, ...table(rows)];
  for (const f of ram.files ?? []) lines.push(`  wrote ${f.path} (${f.bytes} bytes)`);
  return lines;
}

function blockLines(block: BlockSummary): string[] {
  const rows: (string | number)[][] = [['drive', 'chunks', 'zero', 'distinct', 'resent', 'highest end', 'padding']];
  for (const d of block.devices) rows.push([d.name, d.chunks, d.zeroChunks, d.distinctChunks, d.chunks - d.distinctChunks, d.highestEnd, d.paddingBytes]);
  const lines = [`block: ${block.devices.length} drive(s); progress ${block.progress.join(' → ') || 'none'} %`, ...table(rows)];
  for (const f of block.files ?? []) lines.push(`  wrote ${f.path} (${f.bytes} bytes${f.sizeGiven ? ', size given' : ', up to the highest chunk'})`);
  return lines;
}

export function analysisText(r: AnalysisResult): string {
  const lines = [headline(r), ...sectionLines(r.sections)];
  if (r.ram) lines.push(...ramLines(r.ram));
  if (r.block) lines.push(...blockLines(r.block));
  lines.push(`EOF: ${r.eof ? 'yes' : 'no'}`);
  if (r.vmdesc) {
    const devices = r.vmdesc.devices?.map((d) => `${d.name}/${d.instanceId} v${d.version}`).join(', ');
    lines.push(`vmdesc: ${r.vmdesc.bytes} bytes${r.vmdesc.pageSize ? `, page size ${r.vmdesc.pageSize}` : ''}${devices ? `, devices ${devices}` : ''}${r.vmdesc.error ? `, ${r.vmdesc.error}` : ''}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
