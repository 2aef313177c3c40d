// Positioned reads and writes on a FileHandle (libuv threadpool, off the event loop) that finish the job:
// short reads/writes are continued, bytes past the end of the file read as zeros as in QEMU's file driver.
import type { FileHandle } from 'node:fs/promises';

export async function readAt(
  fh: FileHandle,
  buf: Uint8Array,
  bufOffset: number,
  len: number,
  position: number,
): Promise<void> {
  while (len > 0) {
    const { bytesRead } = await fh.read(buf, bufOffset, len, position);
    if (bytesRead === 0) {
      buf.fill(0, bufOffset, bufOffset + len);
      return;
    }
    bufOffset += bytesRead;
    len -= bytesRead;
    position += bytesRead;
  }
}

export async function writeAt(
  fh: FileHandle,
  buf: Uint8Array,
  bufOffset: number,
  len: number,
  position: number,
): Promise<void> {
  while (len > 0) {
    const { bytesWritten } = await fh.write(buf, bufOffset, len, position);
    if (bytesWritten <= 0) throw new Error(`write at file offset ${position} wrote nothing`);
    bufOffset += bytesWritten;
    len -= bytesWritten;
    position += bytesWritten;
  }
}
