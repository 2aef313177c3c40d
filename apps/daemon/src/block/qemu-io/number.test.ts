import { describe, expect, it } from 'vitest';
import { parseQemuIoNumber } from './number.js';

// Each case as qemu-io 7.2 took it (`qemu-io -f raw -c "write N 1"`, the offset it wrote at or what it printed).
describe('parseQemuIoNumber', () => {
  it.each([
    ['4096', 4096], ['2M', 2 << 20], ['64k', 65536], ['1K', 1024], ['1B', 1], ['1m', 1 << 20], ['010', 10], ['0x10', 16],
    ['0X10', 16], ['+1', 1], ['1.0', 1], ['1.0b', 1], ['0.5k', 512], ['00.5k', 512], ['1.k', 1024], ['1.0001k', 1024],
    ['1.5m', 1572864], ['1.5k', 1536], ['9223372036854775807', 2 ** 63], ['7.99e', 7.99 * 2 ** 60],
  ])('%s is %d', (text, value) => {
    const n = parseQemuIoNumber(text);
    expect('value' in n && n.value).toBeCloseTo(value, -3);
    expect('warning' in n).toBe(false);
  });

  it.each(['1.5', '1.5b', '1e3', '1kb', '.5k', '0x1.8k', '0x', '-1', 'abc', '', ' 1'])('%j is not a number', (text) => {
    expect(parseQemuIoNumber(text)).toEqual({ error: `Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- ${text}` });
  });

  it.each(['9223372036854775808', '18446744073709551615', '99999999999999999999', '16E', '8e'])('%s is too large', (text) => {
    expect(parseQemuIoNumber(text)).toEqual({ error: `Parsing error: argument too large -- ${text}` });
  });

  it('takes a unit on a hex number, with the deprecation warning', () => {
    expect(parseQemuIoNumber('0x1k')).toEqual({ value: 1024, warning: 'warning: Using a multiplier suffix on hex numbers is deprecated: 0x1k' });
  });
});
