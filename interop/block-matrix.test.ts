// Block migration against real peers: QEMU 7.2 → mig-daemon, mig-daemon → QEMU 7.2 and mig → mig, with
// `blk` over raw disks (random and half-zero content, with and without zero-blocks), `inc` over a qcow2
// overlay on a raw base both ends share, and qemu-io writes on the source while it migrates. Every disk and
// the RAM come out equal on both ends; every qcow2 image mig wrote passes qemu-img check.
// (QEMU's own loader cannot take a drive that is not whole MiB, so disks toward a QEMU target are whole MiB.)
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, cleanupVms, QEMU_SKIP_MESSAGE, requireQemu } from '@mig/test-helpers';
import { migrateDisks, MiB, type BlockCase, type BlockOutcome } from './block-harness.js';

const hasQemu = requireQemu();

function expectEqual(o: BlockOutcome): void {
  const ctx = `src ${JSON.stringify(o.srcReply)}\ndst ${JSON.stringify(o.dstReply)}\n${o.src.stderr}\n${o.dst.stderr}`;
  expect(o.srcReply.status, ctx).toBe('completed');
  expect(o.dstReply.status, ctx).toBe('completed');
  for (const [id, [a, b]] of Object.entries(o.disks)) expect(b, `disk ${id}`).toBe(a);
  expect(o.ram[1], 'RAM').toBe(o.ram[0]);
  for (const [id, c] of Object.entries(o.checks)) expect([c.checkErrors, c.corruptions, c.leaks], `qemu-img check ${id}`).toEqual([0, 0, 0]);
}

const cases: Array<[string, BlockCase]> = [
  ['QEMU → mig, blk, raw random, qemu-io writes during', {
    src: 'qemu', dst: 'mig', mode: 'blk', disks: [{ id: 'd0', sizeBytes: 48 * MiB }], writesDuring: 12, bandwidth: 48 * MiB, seed: 11,
  }],
  ['QEMU → mig, blk, half-zero, zero-blocks, a disk of 3 MiB + 64 KiB', {
    src: 'qemu', dst: 'mig', mode: 'blk', zeroBlocks: true,
    disks: [{ id: 'd0', sizeBytes: 32 * MiB, zeroFraction: 0.5 }, { id: 'd1', sizeBytes: 3 * MiB + 65536, zeroFraction: 0.3 }], seed: 12,
  }],
  ['QEMU → mig, inc, qcow2 overlay on a shared raw base, writes during', {
    src: 'qemu', dst: 'mig', mode: 'inc', disks: [{ id: 'd0', sizeBytes: 32 * MiB }], writesDuring: 10, bandwidth: 32 * MiB, seed: 13,
  }],
  ['mig → QEMU, blk, raw random, qemu-io writes during', {
    src: 'mig', dst: 'qemu', mode: 'blk', disks: [{ id: 'd0', sizeBytes: 48 * MiB }], writesDuring: 12, bandwidth: 48 * MiB, seed: 21,
  }],
  ['mig → QEMU, blk, half-zero, zero-blocks, two drives', {
    src: 'mig', dst: 'qemu', mode: 'blk', zeroBlocks: true,
    disks: [{ id: 'd0', sizeBytes: 32 * MiB, zeroFraction: 0.5 }, { id: 'd1', sizeBytes: 8 * MiB, zeroFraction: 0.5 }], seed: 22,
  }],
  ['mig → QEMU, inc, qcow2 overlay on a shared raw base, writes during', {
    src: 'mig', dst: 'qemu', mode: 'inc', disks: [{ id: 'd0', sizeBytes: 32 * MiB }], writesDuring: 10, bandwidth: 32 * MiB, seed: 23,
  }],
  ['mig → mig, blk, raw random and a qcow2 drive of 5 MiB + 512 B, writes during', {
    src: 'mig', dst: 'mig', mode: 'blk',
    disks: [{ id: 'd0', sizeBytes: 48 * MiB }, { id: 'd1', sizeBytes: 5 * MiB + 512, format: 'qcow2' }], writesDuring: 16, bandwidth: 48 * MiB, seed: 31,
  }],
  ['mig → mig, blk, half-zero, zero-blocks', {
    src: 'mig', dst: 'mig', mode: 'blk', zeroBlocks: true, disks: [{ id: 'd0', sizeBytes: 64 * MiB, zeroFraction: 0.5 }], seed: 32,
  }],
  ['mig → mig, inc, qcow2 overlay on a shared raw base, writes during', {
    src: 'mig', dst: 'mig', mode: 'inc', disks: [{ id: 'd0', sizeBytes: 32 * MiB }], writesDuring: 12, bandwidth: 32 * MiB, seed: 33,
  }],
];

describe.skipIf(!hasQemu)(`block migration matrix${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupVms);
  afterAll(cleanupAll);

  for (const [name, c] of cases) {
    it(name, async () => {
      const o = await migrateDisks(c);
      expectEqual(o);
      if (c.writesDuring) expect(o.writes).toBe(c.writesDuring);
    });
  }

  it('mig → mig at unlimited bandwidth, a 512 MiB random disk: equal, three times in a row', async () => {
    for (let run = 0; run < 3; run++) {
      const o = await migrateDisks({ src: 'mig', dst: 'mig', mode: 'blk', disks: [{ id: 'd0', sizeBytes: 512 * MiB }], bandwidth: 0, seed: 40 + run });
      expectEqual(o);
    }
  });
});
