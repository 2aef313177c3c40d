// Runs only where an RDMA device exists (real hardware, or soft-RoCE: `modprobe rdma_rxe` and
// `rdma link add rxe0 type rxe netdev eth0`): a mig → mig byte stream over rdma:ADDRESS:PORT, where
// ADDRESS is MIG_RDMA_ADDRESS or the IPv4 address of the first RDMA device's network interface.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { listenIncoming, openOutgoing } from '../open.js';
import { parseMigrationUri } from '../uri.js';
import { hasRdmaDevice, listRdmaDevices } from './verbs/devices.js';

const present = hasRdmaDevice();

/** The IPv4 address of the netdev behind the first device's port 1 (rxe0 → eth0 → 10.x.y.z). */
function deviceAddress(): string {
  if (process.env.MIG_RDMA_ADDRESS) return process.env.MIG_RDMA_ADDRESS;
  const device = listRdmaDevices().devices[0]!;
  const ndevs = `/sys/class/infiniband/${device}/ports/1/gid_attrs/ndevs`;
  for (const entry of readdirSync(ndevs)) {
    let netdev: string;
    try {
      netdev = readFileSync(`${ndevs}/${entry}`, 'utf8').trim();
    } catch {
      continue; // an unused gid slot reads as EINVAL
    }
    const v4 = networkInterfaces()[netdev]?.find((a) => a.family === 'IPv4');
    if (v4 !== undefined) return v4.address;
  }
  throw new Error(`no IPv4 address found for RDMA device ${device}: set MIG_RDMA_ADDRESS`);
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(!present)('rdma: over a real RDMA device (needs a device or soft-RoCE: rdma link add rxe0 type rxe netdev eth0)', () => {
  it('carries 64 MiB mig → mig as QEMU_FILE messages, in order, then ends', async () => {
    const uri = parseMigrationUri(`rdma:${deviceAddress()}:${40000 + (process.pid % 20000)}`);
    const listener = await listenIncoming(uri);
    const data = randomBytes(64 << 20);
    const received = (async () => {
      const source = await listener.accept();
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }
      return { bytes, hash: hash.digest('hex') };
    })();
    const sink = await openOutgoing(uri);
    for (let at = 0; at < data.byteLength; at += 1 << 20) await sink.write(data.subarray(at, at + (1 << 20)));
    await sink.end();
    expect(await received).toEqual({ bytes: data.byteLength, hash: sha(data) });
    await listener.close();
  }, 120_000);

  it('a port nobody listens on fails with a TransportError, not a hang', async () => {
    const uri = parseMigrationUri(`rdma:${deviceAddress()}:1`);
    await expect(openOutgoing(uri)).rejects.toThrow(/^cannot connect the migration stream to rdma:/);
  }, 60_000);
});
