import { describe, expect, it } from 'vitest';
import { SectionType } from './constants.js';
import {
  writeConfiguration,
  writeEof,
  writeFileHeader,
  writeSectionFooter,
  writeSectionHeader,
  writeSectionShortHeader,
  writeVmdesc,
} from './frame-writer.js';
import { StreamWriter } from './stream-writer.js';

const bytes = (s: string): string => s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');

describe('frame writer', () => {
  it('writes the savevm framing byte for byte as QEMU 7.2 does', () => {
    const w = new StreamWriter();
    writeFileHeader(w);
    writeConfiguration(w, 'none');
    writeSectionHeader(w, SectionType.START, { sectionId: 2, idstr: 'ram', instanceId: 0, version: 4 });
    writeSectionFooter(w, 2);
    writeSectionShortHeader(w, SectionType.PART, 2);
    writeSectionShortHeader(w, SectionType.END, 2);
    writeSectionHeader(w, SectionType.FULL, { sectionId: 0, idstr: 'timer', instanceId: 0, version: 2 });
    writeEof(w);
    writeVmdesc(w, '{}');
    expect(Buffer.concat(w.drain()).toString('hex')).toBe(bytes(`
      5145564d 00000003                        # QEVM, version 3
      07 00000004 6e6f6e65                     # CONFIGURATION len 4 'none'
      01 00000002 03 72616d 00000000 00000004  # START id 2 'ram' inst 0 ver 4
      7e 00000002                              # footer
      02 00000002                              # PART id 2
      03 00000002                              # END id 2
      04 00000000 05 74696d6572 00000000 00000002 # FULL id 0 'timer' inst 0 ver 2
      00                                       # EOF
      06 00000002 7b7d                         # VMDESCRIPTION len 2 '{}'
    `));
  });

  it('refuses an idstr that does not fit a counted string', () => {
    const w = new StreamWriter();
    expect(() => writeSectionHeader(w, SectionType.FULL, { sectionId: 1, idstr: '', instanceId: 0, version: 1 })).toThrow(RangeError);
    expect(() => writeSectionHeader(w, SectionType.FULL, { sectionId: 1, idstr: 'x'.repeat(256), instanceId: 0, version: 1 })).toThrow(RangeError);
  });
});
