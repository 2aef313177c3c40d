// RAM migrations across the implementation pairs × transports × sizes; the target's RAM must equal the
// source's, byte for byte (sha256 of pmemsave on both ends and of the file that backed the source).
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, QEMU_SKIP_MESSAGE, requireQemu, type VmKind } from '@mig/test-helpers';
import { migrateRam, type Transport } from './harness.js';

const hasQemu = requireQemu();

interface Row {
  src: VmKind;
  dst: VmKind;
  transport: Transport;
  ramMiB: number;
}

const pairs: Array<[VmKind, VmKind]> = [
  ['qemu', 'mig'],
  ['mig', 'qemu'],
  ['mig', 'mig'],
];
const transports: Transport[] = ['unix', 'tcp', 'exec'];
const rows: Row[] = [
  // The harness itself, QEMU on both ends.
  { src: 'qemu', dst: 'qemu', transport: 'unix', ramMiB: 64 },
  // Every pair × transport at 64 MiB.
  ...pairs.flatMap(([src, dst]) => transports.map((transport) => ({ src, dst, transport, ramMiB: 64 }))),
  // 256 MiB once per pair, each on a different transport.
  { src: 'qemu', dst: 'mig', transport: 'tcp', ramMiB: 256 },
  { src: 'mig', dst: 'qemu', transport: 'unix', ramMiB: 256 },
  { src: 'mig', dst: 'mig', transport: 'exec', ramMiB: 256 },
];

describe.skipIf(!hasQemu)(`RAM migration matrix${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupAll);

  for (const [i, row] of rows.entries()) {
    it(`${row.src} → ${row.dst} over ${row.transport}, ${row.ramMiB} MiB`, async () => {
    const r = await migrateRam({ ...row, seed: 100 + i });
    expect(r.srcReply.status, `source: ${JSON.stringify(r.srcReply)}\n${r.source.stderr}`).toBe('completed');
    expect(r.dstReply.status, `target: ${JSON.stringify(r.dstReply)}\n${r.target.stderr}`).toBe('completed');
    const [srcHash, dstHash] = [await r.source.hashRam(), await r.target.hashRam()];
    expect(srcHash).toBe(r.fileHash);
    expect(dstHash).toBe(r.fileHash);
    // The source reports what it sent: the whole RAM was covered by pages or zero records.
    expect(r.srcReply.ram?.total).toBe(row.ramMiB << 20);
    });
  }
});
