// The error classes a migration worker throws, rebuilt on the main thread by name, and the fields the log
// shows for them.
import {
  decodeError,
  MigError,
  MigrationCancelledError,
  MigrationFailedError,
  PrecopyOptionsError,
  StateTransitionError,
  type ErrorClass,
  type WireError,
} from '@mig/core';
import { StreamError } from '@mig/savevm';
import { TransportError, TransportNotSupportedError, UriError } from '@mig/transports';

export const MIGRATION_ERROR_CLASSES: readonly ErrorClass[] = [
  StreamError,
  MigError, MigrationFailedError, MigrationCancelledError, PrecopyOptionsError, StateTransitionError,
  TransportError, TransportNotSupportedError, UriError,
];

/** A worker's encoded error as its own class again (StreamError keeps offset and record, and so on). */
export function decodeMigrationError(wire: WireError): Error {
  return decodeError(wire, MIGRATION_ERROR_CLASSES);
}

/** Fields worth a log line, first found along the cause chain (a phase on top, the errno code at the bottom). */
const LOGGED_FIELDS = ['phase', 'record', 'offset', 'endpoint', 'bytes', 'code', 'uri'] as const;
const MAX_CAUSES = 8;

/**
 * An error as structured log fields: its class, the known fields of it and its causes (offset and record of
 * a StreamError, phase of a MigrationFailedError, endpoint and code of a TransportError), and the causes'
 * messages when there are any.
 */
export function errorLogFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return err === undefined ? {} : { error: String(err) };
  const fields: Record<string, unknown> = { error: err.name };
  const causes: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < MAX_CAUSES; depth++) {
    const record = current as Record<string, unknown>;
    for (const key of LOGGED_FIELDS) {
      if (fields[key] === undefined && record[key] !== undefined) fields[key] = record[key];
    }
    if (depth > 0) causes.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  if (causes.length > 0) fields['causes'] = causes.join('; ');
  return fields;
}
