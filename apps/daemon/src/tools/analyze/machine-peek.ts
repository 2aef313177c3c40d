// The StreamReader checks the stream's CONFIGURATION against a local machine type; an analyzer has none, so
// it reads the machine name from the stream's first bytes and gives the reader that.
import { MAX_MACHINE_NAME, SectionType, be32, latin1 } from '@mig/savevm';

/** Header (8) + CONFIGURATION type byte and be32 length (5). */
const CONFIGURATION_NAME_AT = 13;
/** Bytes after which the machine name is known or the prefix is certainly not a stream's. */
export const MACHINE_PEEK_BYTES = CONFIGURATION_NAME_AT + MAX_MACHINE_NAME;

/**
 * The machine name in a stream prefix: undefined while more bytes are needed, '' when the prefix does not
 * hold a well-formed CONFIGURATION (the reader then reports what is wrong, at its offset).
 */
export function peekMachine(prefix: Uint8Array): string | undefined {
  if (prefix.length < CONFIGURATION_NAME_AT) return prefix.length >= 9 && prefix[8] !== SectionType.CONFIGURATION ? '' : undefined;
  if (prefix[8] !== SectionType.CONFIGURATION) return '';
  const len = be32(prefix, 9);
  if (len > MAX_MACHINE_NAME) return '';
  if (prefix.length < CONFIGURATION_NAME_AT + len) return undefined;
  return latin1(prefix, CONFIGURATION_NAME_AT, CONFIGURATION_NAME_AT + len);
}
