import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecord, RECORD_VERSION, RecordWriter, type StartRecord } from './record.js';

const start: StartRecord = {
  type: 'start', version: RECORD_VERSION, time: 1000, startedAt: '1970-01-01T00:00:01.000Z', tool: 'mig 0.1.0',
  source: { address: 'unix:/s', product: 'mig 0.1.0 (QEMU 7.2.0)' }, target: null, uri: 'tcp:h:1',
  options: { bandwidth: null, downtimeLimit: 300, xbzrle: false, autoConverge: false, blk: false, inc: false }, parameters: { 'max-bandwidth': 1 },
};
const progress = { percent: 10, etaMs: 900, processed: 1, rate: 2, remaining: 3, total: 4, converging: true, origin: 'mig' as const };

describe('the migration record', () => {
  it('is written as JSON lines and read back whole, t relative to the start', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mig-record-')), 'r.jsonl');
    const w = RecordWriter.open(path, start);
    expect(w.at(1250)).toBe(250);
    w.write({ type: 'status', t: 0, side: 'source', status: 'active' });
    w.write({ type: 'pass', t: 10, pass: 1 });
    w.write({ type: 'sample', t: 20, status: 'active', source: { status: 'active', ram: { transferred: 5 } }, target: null, progress });
    w.write({ type: 'end', t: 30, exitCode: 0, migrateT: 2, source: { status: 'completed' }, target: null, downtime: { ms: 5, fromT: 25, toT: 30 }, totalTimeMs: 28, setupTimeMs: 1, passes: 3 });
    await w.close();
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(5);
    const r = parseRecord(text);
    expect(r.start.uri).toBe('tcp:h:1');
    expect(r.samples[0]!.source).toEqual({ status: 'active', ram: { transferred: 5 } }); // query-migrate kept as it came
    expect(r.passes).toEqual([{ type: 'pass', t: 10, pass: 1 }]);
    expect(r.end!.downtime).toEqual({ ms: 5, fromT: 25, toT: 30 });
  });

  it('a record cut short has no end; bad lines are refused naming the line', () => {
    const head = JSON.stringify(start);
    expect(parseRecord(`${head}\n{"type":"pass","t":1,"pass":1}\n`).end).toBeUndefined();
    expect(() => parseRecord('')).toThrow(/empty/);
    expect(() => parseRecord(`${head}\nnot json`)).toThrow(/record line 2: not JSON/);
    expect(() => parseRecord('{"type":"pass","t":1,"pass":1}')).toThrow(/line 1: the first line must be 'start'/);
    expect(() => parseRecord(`${head}\n{"type":"pass","t":"x","pass":1}`)).toThrow(/record line 2: .*t/);
    expect(() => parseRecord(JSON.stringify({ ...start, version: 2 }))).toThrow(/record version 2 is not 1/);
    expect(() => parseRecord(`${head}\n${head}`)).toThrow(/line 2: a second 'start'/);
  });
});
