// Guest memory over QMP: pmemsave (QEMU's, to a file) and x-mig-write (mig's: write bytes as the guest
// would, dirtying the pages).
import fs from 'node:fs/promises';
import { QmpError, type QmpHandlers } from '@mig/qmp';

export interface GuestMemoryAccess {
  /** The bytes of guest-physical [address, address+size), or an error naming the hole. */
  readPhysical(address: number, size: number): Uint8Array[];
  /** Writes at guest-physical `address` and marks the pages dirty; throws naming the hole. */
  writePhysical(address: number, bytes: Uint8Array): void;
}

/** pmemsave writes at most this much per write call (large guests need no single huge write). */
const PMEMSAVE_WRITE_BYTES = 64 << 20;

export function memoryHandlers(memory: GuestMemoryAccess): Pick<QmpHandlers, 'pmemsave' | 'x-mig-write'> {
  return {
    pmemsave: async (args) => {
      let parts: Uint8Array[];
      try {
        parts = memory.readPhysical(args.val, args.size);
      } catch (err) {
        throw new QmpError('GenericError', `pmemsave: ${(err as Error).message}`);
      }
      const file = await fs.open(args.filename, 'w').catch((err: Error) => {
        throw new QmpError('GenericError', `Could not open '${args.filename}': ${err.message}`);
      });
      try {
        for (const part of parts) {
          for (let offset = 0; offset < part.length; offset += PMEMSAVE_WRITE_BYTES) {
            await file.write(part.subarray(offset, Math.min(part.length, offset + PMEMSAVE_WRITE_BYTES)));
          }
        }
      } finally {
        await file.close();
      }
    },
    'x-mig-write': (args) => {
      const bytes = decodeWriteData(args.data, args.encoding ?? 'base64');
      try {
        memory.writePhysical(args.address, bytes);
      } catch (err) {
        throw new QmpError('GenericError', `x-mig-write: ${(err as Error).message}`);
      }
    },
  };
}

/** x-mig-write's `data`: base64 (default) or hex, checked strictly. */
export function decodeWriteData(data: string, encoding: 'base64' | 'hex'): Uint8Array {
  if (data.length === 0) throw new QmpError('GenericError', "x-mig-write: 'data' is empty");
  if (encoding === 'hex') {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(data)) throw new QmpError('GenericError', "x-mig-write: 'data' is not hex (an even number of 0-9a-f digits)");
    return Buffer.from(data, 'hex');
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) {
    throw new QmpError('GenericError', "x-mig-write: 'data' is not base64 (or give encoding 'hex')");
  }
  return Buffer.from(data, 'base64');
}
