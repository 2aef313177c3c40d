export * from './wire/constants.js';
export { StreamError } from './wire/stream-error.js';
export { be32, be64, be64Signed, copyBytes, hex, latin1, printable } from './wire/bytes.js';
export { StreamWriter, DEFAULT_CHUNK_SIZE } from './wire/stream-writer.js';
export {
  type SectionIdentity,
  writeConfiguration,
  writeEof,
  writeFileHeader,
  writeSectionFooter,
  writeSectionHeader,
  writeSectionShortHeader,
  writeVmdesc,
} from './wire/frame-writer.js';
export { StreamReader, type FramingObserver, type StreamReaderOptions } from './wire/stream-reader.js';
export type {
  DeviceSaveSection,
  IterativeSaveSection,
  LoadContext,
  LoadSection,
  SaveContext,
  SaveSection,
  SectionRecordKind,
} from './sections/section.js';
export { LoadRegistry, checkSaveSections } from './sections/registry.js';
export { vmdescJson, qemuJson, type VmdescDevice, type VmdescField } from './sections/vmdesc.js';
export { TIMER_SECTION, TIMER_BODY_SIZE, TimerLoadSection, TimerSaveSection } from './sections/timer.js';
export {
  GLOBALSTATE_SECTION,
  GLOBALSTATE_BODY_SIZE,
  GLOBALSTATE_RUNSTATE_SIZE,
  GlobalStateLoadSection,
  GlobalStateSaveSection,
} from './sections/globalstate.js';
export { SavevmSaver, type SavevmSaverOptions } from './savevm-saver.js';
export { COUNTER_SECTION, COUNTER_ITEM_BYTES, CounterLoadSection, CounterSaveSection } from './testing/counter-section.js';
