/**
 * File descriptors over a unix socket (SCM_RIGHTS), which node cannot do on its own: libc's recvmsg and
 * sendmsg reached through koffi (an FFI with prebuilt binaries in its npm package; nothing is compiled on
 * install). Linux LP64 only (x86_64, aarch64), where the structs below have one layout:
 *   struct msghdr  { void *name; u32 namelen; (pad) iovec *iov; size_t iovlen; void *control; size_t controllen; int flags; }  56 bytes
 *   struct iovec   { void *base; size_t len; }                                                                         16 bytes
 *   struct cmsghdr { size_t len; int level; int type; } then the data, each header aligned to 8              16 bytes
 * Also socketpair(2) and pipe2(2), for harnesses that hand descriptors over (node has neither).
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';

type Koffi = typeof import('koffi');

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const O_CLOEXEC = 0o2000000; // also SOCK_CLOEXEC
export const MSG_DONTWAIT = 0x40;
const MSG_CTRUNC = 0x8;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
export const EAGAIN = 11;
export const EINTR = 4;
const EBADF = 9;

const MSGHDR_BYTES = 56;
const CMSG_HEADER_BYTES = 16;
/** QEMU's socket chardev takes at most 16 descriptors per message (TCP_MAX_FDS); room for 64. */
const CONTROL_BYTES = CMSG_HEADER_BYTES + 64 * 4;
/** One recvmsg reads at most this much (QMP requests are small; a long line takes several reads). */
export const RECEIVE_BYTES = 64 * 1024;

interface Libc {
  recvmsg(fd: number, msg: unknown, flags: number): number | bigint;
  sendmsg(fd: number, msg: unknown, flags: number): number | bigint;
  dup(fd: number): number;
  close(fd: number): number;
  socketpair(domain: number, type: number, protocol: number, fds: number[]): number;
  pipe2(fds: number[], flags: number): number;
  errno(): number;
}

let koffi!: Koffi;
let libc: Libc | undefined;
let loadError: Error | undefined;

/**
 * koffi and libc, loaded on first use (so that @mig/qmp works where koffi's binary cannot load), or the
 * reason they are not there.
 */
function load(): Libc {
  if (libc !== undefined) return libc;
  if (loadError !== undefined) throw loadError;
  try {
    if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
      throw new Error(`descriptor passing is implemented for Linux on x64 and arm64, not ${process.platform}-${process.arch}`);
    }
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const lib = koffi.load('libc.so.6');
    const errnoLocation = lib.func('int *__errno_location(void)');
    libc = {
      recvmsg: lib.func('intptr_t recvmsg(int fd, void *msg, int flags)'),
      sendmsg: lib.func('intptr_t sendmsg(int fd, void *msg, int flags)'),
      dup: lib.func('int dup(int fd)'),
      close: lib.func('int close(int fd)'),
      socketpair: lib.func('int socketpair(int domain, int type, int protocol, _Out_ int *fds)'),
      pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'),
      errno: () => koffi.decode(errnoLocation(), 'int') as number,
    };
    return libc;
  } catch (err) {
    loadError = new Error(`SCM_RIGHTS descriptor passing is not available: ${(err as Error).message}`, { cause: err });
    throw loadError;
  }
}

/** koffi itself, for the reader's poll. */
export function loadKoffi(): Koffi {
  load();
  return koffi;
}

/** Whether this process can receive descriptors (the QMP server falls back to plain reads when it cannot). */
export function descriptorPassingAvailable(): boolean {
  try {
    load();
    return typeof (koffi as unknown as { node?: { poll?: unknown } }).node?.poll === 'function';
  } catch {
    return false;
  }
}

/** An errno as a node-style error: `code` is EAGAIN, EPIPE, ... */
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, value]) => [value, name]));

export function errnoError(syscall: string, errno: number): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`${syscall} failed: ${code}`), { errno, code, syscall });
}

/** Native buffers reused by every call of this thread: each call fills and reads them before it returns. */
class Scratch {
  readonly data = koffi.alloc('uint8_t', RECEIVE_BYTES);
  readonly control = koffi.alloc('uint8_t', CONTROL_BYTES);
  readonly iov = koffi.alloc('uint8_t', 16);
  readonly msg = koffi.alloc('uint8_t', MSGHDR_BYTES);
  readonly dataView = new Uint8Array(koffi.view(this.data, RECEIVE_BYTES));
  readonly controlView = Buffer.from(koffi.view(this.control, CONTROL_BYTES));
  readonly iovView = Buffer.from(koffi.view(this.iov, 16));
  readonly msgView = Buffer.from(koffi.view(this.msg, MSGHDR_BYTES));

  /** msghdr → one iovec of `length` bytes of `data`, and `controlLength` bytes of control. */
  prepare(length: number, controlLength: number): void {
    this.iovView.writeBigUInt64LE(BigInt(koffi.address(this.data) as bigint), 0);
    this.iovView.writeBigUInt64LE(BigInt(length), 8);
    this.msgView.fill(0);
    this.msgView.writeBigUInt64LE(BigInt(koffi.address(this.iov) as bigint), 16);
    this.msgView.writeBigUInt64LE(1n, 24);
    if (controlLength > 0) {
      this.msgView.writeBigUInt64LE(BigInt(koffi.address(this.control) as bigint), 32);
      this.msgView.writeBigUInt64LE(BigInt(controlLength), 40);
    }
  }
}

let scratch: Scratch | undefined;
const scratchBuffers = (): Scratch => (scratch ??= new Scratch()); // after load(): Scratch needs koffi

export interface Received {
  /** The bytes read; empty at end of stream. */
  bytes: Buffer;
  /** Descriptors that came with them (close-on-exec; the caller owns them). */
  fds: number[];
  /** The kernel dropped descriptors that did not fit (MSG_CTRUNC). */
  truncated: boolean;
}

/**
 * One non-blocking recvmsg on socket `fd`. Returns undefined when nothing is there (EAGAIN); throws an
 * errno error for a failed read.
 */
export function receiveWithDescriptors(fd: number): Received | undefined {
  const c = load();
  const s = scratchBuffers();
  for (;;) {
    s.prepare(RECEIVE_BYTES, CONTROL_BYTES);
    const n = Number(c.recvmsg(fd, s.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
    if (n < 0) {
      const errno = c.errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN) return undefined;
      throw errnoError('recvmsg', errno);
    }
    const controlLength = Number(s.msgView.readBigUInt64LE(40));
    const fds = controlLength > 0 ? parseRights(s.controlView, controlLength) : [];
    const truncated = (s.msgView.readInt32LE(48) & MSG_CTRUNC) !== 0;
    return { bytes: Buffer.from(s.dataView.subarray(0, n)), fds, truncated };
  }
}

/** The descriptors of every SCM_RIGHTS message in a control buffer. */
function parseRights(control: Buffer, length: number): number[] {
  const fds: number[] = [];
  let at = 0;
  while (at + CMSG_HEADER_BYTES <= length) {
    const cmsgLength = Number(control.readBigUInt64LE(at));
    if (cmsgLength < CMSG_HEADER_BYTES || at + cmsgLength > length) break;
    if (control.readInt32LE(at + 8) === SOL_SOCKET && control.readInt32LE(at + 12) === SCM_RIGHTS) {
      for (let i = CMSG_HEADER_BYTES; i + 4 <= cmsgLength; i += 4) fds.push(control.readInt32LE(at + i));
    }
    at += (cmsgLength + 7) & ~7;
  }
  return fds;
}

/**
 * One sendmsg on socket `fd`: the first bytes of `bytes` with `fds` as SCM_RIGHTS. Returns how many bytes
 * went (the descriptors go with the first byte); throws an errno error (EAGAIN when the socket is full).
 */
export function sendWithDescriptors(fd: number, bytes: Uint8Array, fds: readonly number[]): number {
  const c = load();
  const s = scratchBuffers();
  if (fds.length > (CONTROL_BYTES - CMSG_HEADER_BYTES) / 4) throw new RangeError(`at most 64 descriptors per message, got ${fds.length}`);
  if (bytes.length === 0) throw new RangeError('descriptors must travel with at least one byte');
  const length = Math.min(bytes.length, RECEIVE_BYTES);
  s.dataView.set(bytes.subarray(0, length));
  const controlLength = fds.length > 0 ? CMSG_HEADER_BYTES + ((fds.length * 4 + 7) & ~7) : 0;
  if (fds.length > 0) {
    s.controlView.fill(0, 0, controlLength);
    s.controlView.writeBigUInt64LE(BigInt(CMSG_HEADER_BYTES + fds.length * 4), 0);
    s.controlView.writeInt32LE(SOL_SOCKET, 8);
    s.controlView.writeInt32LE(SCM_RIGHTS, 12);
    fds.forEach((d, i) => s.controlView.writeInt32LE(d, CMSG_HEADER_BYTES + i * 4));
  }
  for (;;) {
    s.prepare(length, controlLength);
    const n = Number(c.sendmsg(fd, s.msg, MSG_DONTWAIT | MSG_NOSIGNAL));
    if (n >= 0) return n;
    const errno = c.errno();
    if (errno !== EINTR) throw errnoError('sendmsg', errno);
  }
}

/** A second descriptor for the same open socket (so that polling it never disturbs node's own handle). */
export function duplicateDescriptor(fd: number): number {
  const c = load();
  const copy = c.dup(fd);
  if (copy < 0) throw errnoError('dup', c.errno());
  return copy;
}

/** close(2); a descriptor that is not open (EBADF) is not an error. */
export function closeDescriptor(fd: number): void {
  const c = load();
  if (c.close(fd) < 0) {
    const errno = c.errno();
    if (errno !== EBADF && errno !== EINTR) throw errnoError('close', errno);
  }
}

/** A connected pair of unix stream sockets (socketpair(2)), close-on-exec. */
export function socketPair(): [number, number] {
  const c = load();
  const fds = [-1, -1];
  if (c.socketpair(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0, fds) < 0) throw errnoError('socketpair', c.errno());
  return [fds[0] as number, fds[1] as number];
}

/** A pipe (pipe2(2)), close-on-exec: bytes written to `write` are read from `read`. */
export function pipePair(): { read: number; write: number } {
  const c = load();
  const fds = [-1, -1];
  if (c.pipe2(fds, O_CLOEXEC) < 0) throw errnoError('pipe2', c.errno());
  return { read: fds[0] as number, write: fds[1] as number };
}
