import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveBackingPath } from './backing-path.js';

describe('resolveBackingPath', () => {
  it('resolves relative names against the image directory', () => {
    expect(resolveBackingPath(join('a', 'b', 'top.qcow2'), 'base.raw')).toBe(join('a', 'b', 'base.raw'));
    expect(resolveBackingPath(join('a', 'b', 'top.qcow2'), '../base.raw')).toBe(join('a', 'base.raw'));
    expect(resolveBackingPath('top.qcow2', 'base.raw')).toBe('base.raw');
  });

  it('keeps absolute names and refuses protocols', () => {
    expect(resolveBackingPath('x/top.qcow2', '/srv/base.raw')).toBe('/srv/base.raw');
    expect(() => resolveBackingPath('top.qcow2', 'json:{}')).toThrow(/top.qcow2: backing file "json:\{\}" uses a protocol/);
  });
});
