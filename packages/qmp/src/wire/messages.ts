/** QMP message shapes and the checks QEMU 7.2 makes on a request before it looks at the command. */
import { z } from 'zod';
import type { QmpTimestamp } from '../events.js';

export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

export interface QmpGreeting {
  QMP: { version: QmpVersion; capabilities: string[] };
}

export const QmpGreetingSchema = z.object({
  QMP: z.object({
    version: z.object({
      qemu: z.object({ major: z.number().int(), minor: z.number().int(), micro: z.number().int() }),
      package: z.string(),
    }),
    capabilities: z.array(z.string()),
  }),
});

export interface QmpErrorBody {
  class: string;
  desc: string;
}

export type QmpResponse =
  | { return: unknown; id?: unknown }
  | { error: QmpErrorBody; id?: unknown };

/** A request that passed QEMU's top-level checks. */
export interface QmpRequest {
  execute: string;
  arguments: Record<string, unknown>;
  oob: boolean;
  hasId: boolean;
  id: unknown;
}

export type RequestCheck =
  | { ok: true; request: QmpRequest }
  | { ok: false; desc: string; hasId: boolean; id: unknown };

/**
 * QEMU 7.2's checks of a parsed JSON value as a QMP request (qmp_dispatch_check_obj and its caller). `exec-oob`
 * is a known member only once the client enabled the oob capability.
 */
export function checkRequest(value: unknown, allowOob = false): RequestCheck {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, desc: 'QMP input must be a JSON object', hasId: false, id: undefined };
  }
  const obj = value as Record<string, unknown>;
  const hasId = Object.prototype.hasOwnProperty.call(obj, 'id');
  const id = obj['id'];
  const fail = (desc: string): RequestCheck => ({ ok: false, desc, hasId, id });
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (key === 'execute' || (key === 'exec-oob' && allowOob)) {
      if (typeof v !== 'string') return fail(`QMP input member '${key}' must be a string`);
    } else if (key === 'arguments') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        return fail("QMP input member 'arguments' must be an object");
      }
    } else if (key !== 'id') {
      return fail(`QMP input member '${key}' is unexpected`);
    }
  }
  const execute = obj['execute'] as string | undefined;
  const execOob = obj['exec-oob'] as string | undefined;
  if (execute !== undefined && execOob !== undefined) return fail("QMP input member 'execute' clashes with 'exec-oob'");
  const name = execute ?? execOob;
  if (name === undefined) return fail("QMP input lacks member 'execute'");
  return {
    ok: true,
    request: {
      execute: name,
      arguments: (obj['arguments'] as Record<string, unknown> | undefined) ?? {},
      oob: execOob !== undefined,
      hasId,
      id,
    },
  };
}

export function timestampNow(nowMs: number = Date.now()): QmpTimestamp {
  const seconds = Math.floor(nowMs / 1000);
  return { seconds, microseconds: Math.floor((nowMs - seconds * 1000) * 1000) };
}
