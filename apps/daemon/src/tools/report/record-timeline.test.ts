// mig report reads what mig migrate --record writes: the versioned record becomes the timeline it draws.
import { describe, expect, it } from 'vitest';
import { parseMigrationRecord, RecordError } from './migration-record.js';
import { isMigrateRecord } from './record-timeline.js';

const start = {
  type: 'start', version: 1, time: 1_700_000_000_000, startedAt: '2026-12-01T12:00:00.000Z', tool: 'mig 0.1.0',
  source: { address: 'unix:/s.qmp', product: 'mig-daemon' }, target: null, uri: 'unix:/m.sock',
  options: { bandwidth: null, downtimeLimit: null, xbzrle: false, autoConverge: false, blk: true, inc: false }, parameters: {},
};
const progress = { percent: 10, etaMs: 1000, processed: 1, rate: 1, remaining: 1, total: 2, converging: true, origin: 'mig' };
const sample = (t: number, status: string, remaining: number, sync: number) => ({
  type: 'sample', t, status, target: null, progress,
  source: { status, ram: { remaining, transferred: 1000 - remaining, total: 1000, mbps: 80, 'dirty-pages-rate': 2, 'page-size': 4096, 'dirty-sync-count': sync }, disk: { remaining: 5, transferred: 7, total: 12 } },
});
const lines = [
  start,
  sample(100, 'setup', 1000, 0), // before migrate was accepted: not drawn
  { type: 'pass', t: 600, pass: 1 },
  sample(700, 'active', 800, 1),
  { type: 'pass', t: 1500, pass: 2 },
  sample(1700, 'active', 100, 2),
  { type: 'end', t: 2600, exitCode: 0, migrateT: 500, source: { status: 'completed' }, target: null, downtime: { ms: 40, fromT: 2460, toT: 2500 }, totalTimeMs: 2000, setupTimeMs: 3, passes: 2 },
];
const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';

describe("mig migrate's record as mig report's input", () => {
  it('is told from the plain timeline by its start line', () => {
    expect(isMigrateRecord(text)).toBe(true);
    expect(isMigrateRecord('{"type":"sample","t":0,"status":"active","remaining":0,"transferred":0}\n')).toBe(false);
    expect(isMigrateRecord('not json')).toBe(false);
  });

  it('becomes samples, passes and the downtime in seconds from when migrate was accepted', () => {
    const t = parseMigrationRecord(text);
    expect(t.samples.map((s) => [s.t, s.remaining, s.transferred, s.pass])).toEqual([[0.2, 800, 200, 1], [1.2, 100, 900, 2]]);
    expect(t.samples[0]).toMatchObject({ total: 1000, mbps: 80, dirtyRate: 2 * 4096, disk: { remaining: 5, transferred: 7, total: 12 } });
    expect(t.passes).toEqual([{ type: 'pass', pass: 1, t: 0.1 }, { type: 'pass', pass: 2, t: 1 }]);
    expect(t.downtime).toEqual({ type: 'downtime', start: 1.96, end: 2 });
  });

  it('a malformed line is a RecordError naming it', () => {
    const bad = text.replace('"type":"pass","t":1500', '"type":"pass","t":"late"');
    expect(() => parseMigrationRecord(bad)).toThrow(RecordError);
    expect(() => parseMigrationRecord(bad)).toThrow(/^line 5: /);
  });
});
