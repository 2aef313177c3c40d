import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeDescriptor, descriptorPassingAvailable, duplicateDescriptor, pipePair, receiveWithDescriptors, RECEIVE_BYTES,
  sendWithDescriptors, socketPair,
} from './descriptors.js';

const opened: number[] = [];
const track = <T extends number[]>(...fds: T): T => {
  opened.push(...fds);
  return fds;
};

afterEach(() => {
  for (const fd of opened.splice(0)) closeDescriptor(fd);
});

/** What a pipe's read end holds right now (the write end must be closed, or enough written). */
function readAll(fd: number, expected: number): string {
  const buf = Buffer.alloc(expected);
  let got = 0;
  while (got < expected) {
    const n = readSync(fd, buf, got, expected - got, null);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got).toString();
}

describe('descriptors over a unix socket', () => {
  it('is available here (Linux, koffi with node.poll)', () => {
    expect(descriptorPassingAvailable()).toBe(true);
  });

  it('a descriptor sent with SCM_RIGHTS arrives as a new descriptor for the same pipe, with its bytes', () => {
    const [a, b] = track(...socketPair());
    const pipe = pipePair();
    track(pipe.read, pipe.write);
    expect(sendWithDescriptors(a, Buffer.from('getfd\n'), [pipe.write])).toBe(6);
    const got = receiveWithDescriptors(b);
    expect(got?.bytes.toString()).toBe('getfd\n');
    expect(got?.fds).toHaveLength(1);
    const received = got!.fds[0]!;
    track(received);
    expect(received).not.toBe(pipe.write);
    expect(fstatSync(received).isFIFO()).toBe(true);
    writeSync(received, 'through the copy');
    expect(readAll(pipe.read, 16)).toBe('through the copy');
  });

  it('several descriptors in one message arrive in order; plain bytes have none', () => {
    const [a, b] = track(...socketPair());
    const p1 = pipePair();
    const p2 = pipePair();
    track(p1.read, p1.write, p2.read, p2.write);
    sendWithDescriptors(a, Buffer.from('x'), [p1.write, p2.write]);
    const got = receiveWithDescriptors(b)!;
    track(...got.fds);
    expect(got.fds).toHaveLength(2);
    writeSync(got.fds[1]!, 'second');
    expect(readAll(p2.read, 6)).toBe('second');
    expect(got.truncated).toBe(false);
    writeSync(a, 'plain');
    expect(receiveWithDescriptors(b)).toEqual({ bytes: Buffer.from('plain'), fds: [], truncated: false });
  });

  it('nothing to read is undefined (non-blocking); a closed peer is an empty read', () => {
    const [a, b] = socketPair();
    track(b);
    expect(receiveWithDescriptors(b)).toBeUndefined();
    closeDescriptor(a);
    expect(receiveWithDescriptors(b)).toEqual({ bytes: Buffer.alloc(0), fds: [], truncated: false });
  });

  it('a long message is read in pieces of at most RECEIVE_BYTES', () => {
    const [a, b] = track(...socketPair());
    const big = Buffer.alloc(RECEIVE_BYTES + 100, 7);
    let sent = 0;
    while (sent < big.length) sent += sendWithDescriptors(a, big.subarray(sent), []);
    const first = receiveWithDescriptors(b)!;
    expect(first.bytes.length).toBeLessThanOrEqual(RECEIVE_BYTES);
    let total = first.bytes.length;
    while (total < big.length) total += receiveWithDescriptors(b)!.bytes.length;
    expect(total).toBe(big.length);
  });

  it('errors carry the errno name', () => {
    const pipe = pipePair();
    track(pipe.read, pipe.write);
    expect(() => receiveWithDescriptors(pipe.read)).toThrow(/recvmsg failed: ENOTSOCK/);
    expect(() => sendWithDescriptors(pipe.write, Buffer.from('x'), [])).toThrow(/sendmsg failed: ENOTSOCK/);
    expect(() => sendWithDescriptors(pipe.write, Buffer.alloc(0), [pipe.read])).toThrow(/at least one byte/);
  });

  it('dup gives a second descriptor for the same socket; closing one keeps the other', () => {
    const [a, b] = track(...socketPair());
    const copy = duplicateDescriptor(b);
    writeSync(a, 'hi');
    closeSync(b);
    opened.splice(opened.indexOf(b), 1);
    track(copy);
    expect(receiveWithDescriptors(copy)?.bytes.toString()).toBe('hi');
    expect(() => closeDescriptor(b)).not.toThrow(); // EBADF is not an error
  });
});
