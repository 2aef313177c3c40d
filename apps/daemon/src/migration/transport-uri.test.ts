import { fstatSync } from 'node:fs';
import { closeDescriptor, pipePair } from '@mig/qmp';
import { hasRdmaDevice } from '@mig/transports';
import { describe, expect, it } from 'vitest';
import { qmpErrorOf } from '../../test/qmp-call.js';
import { prepareUri, workerDescriptors } from './transport-uri.js';

const hand = (fd: number) => ({ takeDescriptor: () => fd });

describe('prepareUri', () => {
  it('parses once; a bad URI, rdma without an RDMA device, or fd: where no descriptors are handed over are QMP errors', async () => {
    expect(prepareUri('tcp:127.0.0.1:4444', {}, 'outgoing')).toEqual({ uri: { kind: 'tcp', host: '127.0.0.1', port: 4444 } });
    expect(await qmpErrorOf(() => prepareUri('tcp:h', {}, 'outgoing'))).toBe("GenericError: migration URI 'tcp:h' has no port");
    if (!hasRdmaDevice()) {
      expect(await qmpErrorOf(() => prepareUri('rdma:[::1]:1', {}, 'incoming'))).toBe('GenericError: rdma:[::1]:1: no RDMA device was found (libibverbs lists none)');
    }
    expect(await qmpErrorOf(() => prepareUri('fd:x', {}, 'outgoing'))).toBe('GenericError: fd:x: no file descriptors can be handed over here');
  });

  it('fd: takes the descriptor and checks it is the right end, before the worker starts', async () => {
    const p = pipePair();
    expect(prepareUri('fd:w', hand(p.write), 'outgoing')).toEqual({ uri: { kind: 'fd', name: 'w' }, descriptor: p.write });
    expect(await qmpErrorOf(() => prepareUri('fd:r', hand(p.read), 'outgoing'))).toBe(
      `GenericError: cannot use fd:r (descriptor ${p.read}) for the outgoing migration stream: it is open for reading only`,
    );
    expect(() => fstatSync(p.read)).toThrow(/EBADF/); // it was the migration's: closed
    closeDescriptor(p.write);
    expect(await qmpErrorOf(() => prepareUri('fd:gone', hand(p.write), 'incoming'))).toBe(
      `GenericError: cannot use fd:gone (descriptor ${p.write}) for the migration stream: bad file descriptor (EBADF)`,
    );
  });

  it('the worker side hands over what the main thread took', () => {
    expect(workerDescriptors({ uri: { kind: 'fd', name: 'a' }, descriptor: 12 }).takeDescriptor?.('a')).toBe(12);
    expect(() => workerDescriptors({ uri: { kind: 'fd', name: 'a' } }).takeDescriptor?.('a')).toThrow('fd:a: the main thread handed no descriptor');
  });
});
