// qemu-io's report after a read or write, as qemu-io 7.2 prints it:
//   wrote 4096/4096 bytes at offset 2097152
//   4 KiB, 1 ops; 00.00 sec (30.400 MiB/sec and 7782.3434 ops/sec)
// sizes in binary units with three decimals (".000" cut: "4 KiB"), bytes with six ("840.794450 bytes", "0 bytes"),
// the time as "SS.ss sec" under a second and "H:MM:SS.ss" from one second on.

const UNITS = [' EiB', ' PiB', ' TiB', ' GiB', ' MiB', ' KiB'] as const;

/** A byte count as qemu-io shows it. */
export function formatBytes(value: number): string {
  for (let i = 0; i < UNITS.length; i++) {
    const unit = 2 ** (10 * (UNITS.length - i));
    if (value >= unit) return cutZeros((value / unit).toFixed(3), UNITS[i]!);
  }
  return cutZeros(value.toFixed(6), ' bytes');
}

/** qemu-io drops the digits from the first ".000" on (so 1.000500 bytes shows as "1 bytes"). */
function cutZeros(digits: string, suffix: string): string {
  const at = digits.indexOf('.000');
  return (at >= 0 ? digits.slice(0, at) : digits) + suffix;
}

/** Elapsed seconds as qemu-io shows them. */
export function formatElapsed(seconds: number): string {
  const whole = Math.floor(seconds);
  if (whole === 0) return `${seconds.toFixed(2).padStart(5, '0')} sec`;
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = (whole % 60) + (seconds - whole);
  return `${hours}:${String(minutes).padStart(2, '0')}:${secs.toFixed(2).padStart(5, '0')}`;
}

/** The two report lines of one request of `count` bytes at `offset` that took `seconds`. */
export function ioReport(verb: 'read' | 'wrote', offset: number, count: number, seconds: number): string {
  const s = seconds > 0 ? seconds : Number.MIN_VALUE;
  return (
    `${verb} ${count}/${count} bytes at offset ${offset}\n` +
    `${formatBytes(count)}, 1 ops; ${formatElapsed(seconds)} (${formatBytes(count / s)}/sec and ${(1 / s).toFixed(4)} ops/sec)\n`
  );
}

/** `read -v`: 16 bytes a line, offset in hex, letters and digits as themselves, anything else as '.'. */
export function hexDump(buf: Uint8Array, offset: number): string {
  let out = '';
  for (let i = 0; i < buf.length; i += 16) {
    const line = buf.subarray(i, Math.min(buf.length, i + 16));
    let hex = '';
    let text = '';
    for (const b of line) {
      hex += `${b.toString(16).padStart(2, '0')} `;
      text += isAlnum(b) ? String.fromCharCode(b) : '.';
    }
    out += `${(offset + i).toString(16).padStart(8, '0')}:  ${hex} ${text}\n`;
  }
  return out;
}

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}
