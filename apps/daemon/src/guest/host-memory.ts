// Guest RAM lives in host memory mapped with mmap (through koffi), never in the JS heap: a file backend maps
// the file itself (share=on: MAP_SHARED, so the file IS the guest RAM), a ram backend maps anonymous memory.
// Worker threads share the process's address space, so they view the same mapping from its address.
import fs from 'node:fs';
import koffi from 'koffi';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;

const libc = koffi.load('libc.so.6');
const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
const madvise = libc.func('int madvise(void *addr, size_t length, int advice)');
const errnoLocation = libc.func('int *__errno_location(void)');
const MADV_HUGEPAGE = 14;
const MADV_POPULATE_READ = 22;
const MADV_POPULATE_WRITE = 23;

/** What a worker thread needs to view the same guest memory: a plain, clonable description. */
export interface HostMemoryHandle {
  address: bigint;
  size: number;
}

export interface HostMemory extends HostMemoryHandle {
  bytes: Uint8Array;
}

function mapOrThrow(size: number, flags: number, fd: number, what: string): HostMemory {
  const pointer = mmap(null, size, PROT_READ | PROT_WRITE, flags, fd, 0);
  const address = koffi.address(pointer) as bigint;
  if (address === 0xffffffffffffffffn || address === 0n) {
    const errno = koffi.decode(errnoLocation(), 'int') as number;
    throw new Error(`cannot map ${size} bytes of guest RAM for ${what}: mmap failed (errno ${errno})`);
  }
  return { address, size, bytes: new Uint8Array(koffi.view(pointer, size)) };
}

/**
 * `memory-backend-ram` and plain `-m`: anonymous memory, zero-filled as a fresh guest's. Private (threads share
 * the address space anyway) and with transparent huge pages, as QEMU advises for guest RAM.
 */
export function mapAnonymousMemory(size: number, what: string): HostMemory {
  const memory = mapOrThrow(size, MAP_PRIVATE | MAP_ANONYMOUS, -1, what);
  madvise(viewPointer(memory.address), size, MADV_HUGEPAGE); // advice only: ignore a refusal
  return memory;
}

/**
 * `memory-backend-file`: the file becomes the guest RAM. As QEMU does, a missing or empty file is created and
 * sized; a non-empty file of another size is an error.
 */
export function mapFileMemory(path: string, size: number, share: boolean, what: string): HostMemory {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    const current = fs.fstatSync(fd).size;
    if (current === 0) fs.ftruncateSync(fd, size);
    else if (current < size) {
      throw new Error(`backing store ${path} size 0x${current.toString(16)} does not match 'size' option 0x${size.toString(16)}`);
    }
    return mapOrThrow(size, share ? MAP_SHARED : MAP_PRIVATE, fd, what);
  } finally {
    fs.closeSync(fd); // the mapping keeps the file's pages; the descriptor is not needed
  }
}

function viewPointer(address: bigint): unknown {
  const cell = Buffer.alloc(8);
  cell.writeBigUInt64LE(address);
  return koffi.decode(cell, 'void *');
}

/** In a worker thread: view memory mapped by the main thread. The mapping is never unmapped while we run. */
export function viewHostMemory(handle: HostMemoryHandle): Uint8Array {
  return new Uint8Array(koffi.view(viewPointer(handle.address), handle.size));
}

/** 'write': allocate every page (QEMU's prealloc=on); 'read': map what backs it (a file's cached pages). */
export type PopulateMode = 'write' | 'read';

/**
 * Faults the whole mapping in (MADV_POPULATE_*). Blocking: call it from a worker thread. First touch of memory
 * is the dearest thing a migration target does on this kind of machine (about 2-3 s per GiB), so a target
 * does it before it listens, as QEMU does with prealloc=on, not page by page while the stream arrives.
 * Returns false when the kernel refused (older than 5.14): the memory then faults in on use.
 */
export function populateHostMemory(handle: HostMemoryHandle, mode: PopulateMode): boolean {
  return madvise(viewPointer(handle.address), handle.size, mode === 'write' ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) === 0;
}
