import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
import { closeDescriptor, pipePair } from '@mig/qmp';
import { afterEach, describe, expect, it } from 'vitest';
import { call, qmpErrorOf } from '../../test/qmp-call.js';
import { commandLineDescriptors, fdHandlers, incomingDescriptors, MonitorDescriptors, outgoingDescriptors } from './fds.js';

const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeDescriptor(fd);
});

/** A pipe: the handler gets `handed` (a copy of the write end, as getfd would receive it). */
function pipe(): { read: number; handed: number } {
  const p = pipePair();
  opened.push(p.read);
  return { read: p.read, handed: p.write };
}

/** The handed descriptor was closed (checked at once: nothing opens a descriptor in between to reuse its number). */
function closedBehind(p: { handed: number }): boolean {
  try {
    fstatSync(p.handed);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EBADF';
  }
}

function setup() {
  const store = new MonitorDescriptors();
  const h = fdHandlers(store);
  const getfd = (fdname: string, fd: number | undefined, monitor = 1) =>
    call(h.getfd, { fdname }, { monitor, takeDescriptor: () => fd });
  return { store, h, getfd };
}

describe('getfd and closefd, with QEMU 7.2’s words', () => {
  it('getfd keeps the descriptor under its name; migrate fd:NAME takes it out (it is the migration’s from then)', () => {
    const { store, getfd } = setup();
    const p = pipe();
    getfd('mig', p.handed);
    expect(store.names(1)).toEqual(['mig']);
    const fd = outgoingDescriptors(store, { monitor: 1 }).takeDescriptor!('mig');
    expect(fd).toBe(p.handed);
    expect(store.names(1)).toEqual([]);
    writeSync(fd, 'x');
    expect(readSync(p.read, Buffer.alloc(1))).toBe(1);
    closeSync(fd);
  });

  it('getfd without a descriptor', async () => {
    const { getfd } = setup();
    expect(await qmpErrorOf(() => getfd('a', undefined))).toBe('GenericError: No file descriptor supplied via SCM_RIGHTS');
  });

  it('a name starting with a digit is refused and the descriptor closed', async () => {
    const { store, getfd } = setup();
    const p = pipe();
    expect(await qmpErrorOf(() => getfd('1abc', p.handed))).toBe("GenericError: Parameter 'fdname' expects a name not starting with a digit");
    expect(closedBehind(p)).toBe(true);
    expect(store.names(1)).toEqual([]);
  });

  it('a name used twice gets the new descriptor; the old one is closed (no error, as QEMU)', () => {
    const { store, getfd } = setup();
    const first = pipe();
    const second = pipe();
    getfd('a', first.handed);
    getfd('a', second.handed);
    expect(closedBehind(first)).toBe(true);
    expect(store.take(1, 'a')).toBe(second.handed);
    closeSync(second.handed);
  });

  it('closefd closes it; an unknown name is an error', async () => {
    const { h, store, getfd } = setup();
    const p = pipe();
    getfd('a', p.handed);
    call(h.closefd, { fdname: 'a' });
    expect(closedBehind(p)).toBe(true);
    expect(await qmpErrorOf(() => call(h.closefd, { fdname: 'a' }))).toBe("GenericError: File descriptor named 'a' not found");
    expect(store.names(1)).toEqual([]);
  });

  it('migrate and migrate-incoming with an unknown name', async () => {
    const { store } = setup();
    expect(await qmpErrorOf(() => outgoingDescriptors(store, { monitor: 1 }).takeDescriptor!('nope'))).toBe(
      "GenericError: File descriptor named 'nope' has not been found",
    );
    expect(await qmpErrorOf(() => incomingDescriptors(store, { monitor: 1 }).takeDescriptor!('nope'))).toBe(
      "GenericError: File descriptor named 'nope' has not been found",
    );
  });

  it('names belong to their monitor', async () => {
    const { store, getfd } = setup();
    const p = pipe();
    getfd('a', p.handed, 2);
    expect(await qmpErrorOf(() => store.take(1, 'a'))).toBe("GenericError: File descriptor named 'a' has not been found");
    expect(store.take(2, 'a')).toBe(p.handed);
    closeSync(p.handed);
  });

  it('migrate fd:7 looks up the name "7"; migrate-incoming fd:7 and -incoming fd:7 mean descriptor 7', async () => {
    const { store } = setup();
    expect(await qmpErrorOf(() => outgoingDescriptors(store, { monitor: 1 }).takeDescriptor!('7'))).toBe(
      "GenericError: File descriptor named '7' has not been found",
    );
    expect(incomingDescriptors(store, { monitor: 1 }).takeDescriptor!('7')).toBe(7);
    expect(commandLineDescriptors.takeDescriptor!('7')).toBe(7);
    expect(await qmpErrorOf(() => commandLineDescriptors.takeDescriptor!('abc'))).toBe("GenericError: Invalid file descriptor number 'abc'");
    expect(await qmpErrorOf(() => incomingDescriptors(store, { monitor: 1 }).takeDescriptor!('7x'))).toBe(
      "GenericError: Invalid file descriptor number '7x'",
    );
  });

  it('closeAll closes what is still held', () => {
    const { store, getfd } = setup();
    const p = pipe();
    getfd('left', p.handed, 3);
    store.closeAll();
    expect(closedBehind(p)).toBe(true);
  });
});
