export { default as fc } from 'fast-check';
export {
  type Mutation,
  type Position,
  type SeedInput,
  applyMutation,
  describeMutation,
  mutate,
  mutationArb,
  resolvePosition,
} from './mutations.js';
export { type ChunkSplit, MAX_PIECES, chunkSplitArb, describeSplit, splitChunks } from './chunks.js';
export { type FuzzBudget, type FuzzResult, fuzzBudget, runFuzz, targetSeed } from './budget.js';
export { type ErrorCheck, checkErrorChain, withDeadline } from './outcome.js';
export {
  type LoadLimits,
  type LoadOutcome,
  type ParsingSection,
  type PushParser,
  FuzzViolation,
  STREAM_ERRORS,
  SectionProbe,
  loadPieces,
} from './stream-harness.js';
