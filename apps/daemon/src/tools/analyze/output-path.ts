// Where a RAM block or drive named by the stream goes under an output folder. Names come from the stream
// (untrusted): QEMU's RAM block names hold '/' (e.g. "0000:00:02.0/vga.vram", "/rom@etc/acpi/tables"),
// kept as sub-folders as QEMU's analyzer does, but no segment may climb out of the folder.
import { join } from 'node:path';

export function outputPath(dir: string, name: string): string {
  const segments = name
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s === '.' || s === '..' ? s.replaceAll('.', '%2E') : s));
  if (segments.length === 0) return join(dir, '%2F');
  return join(dir, ...segments);
}
