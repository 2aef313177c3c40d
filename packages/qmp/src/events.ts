/** QMP events mig emits and understands, with zod schemas of their `data` (QEMU 7.2 names and members). */
import { z } from 'zod';
import { MigrationStatusSchema } from './commands/types.js';

export const SHUTDOWN_CAUSES = [
  'none', 'host-error', 'host-qmp-quit', 'host-qmp-system-reset', 'host-signal', 'host-ui', 'guest-shutdown',
  'guest-reset', 'guest-panic', 'subsystem-reset', 'snapshot-load',
] as const;

export const eventSchemas = {
  /** Migration state changed (emitted when the `events` capability is on). */
  MIGRATION: z.strictObject({ status: MigrationStatusSchema }),
  /** A new dirty-sync pass began (emitted when the `events` capability is on). */
  MIGRATION_PASS: z.strictObject({ pass: z.number().int() }),
  /**
   * mig only: the outgoing migration's remaining bytes have not shrunk over several dirty syncs; `advice` lists
   * what the numbers say would help (enable auto-converge or xbzrle, raise max-bandwidth or downtime-limit).
   */
  X_MIG_NOT_CONVERGING: z.strictObject({
    pass: z.number().int(),
    remaining: z.number(),
    'dirty-rate': z.number(),
    bandwidth: z.number(),
    advice: z.array(z.string()),
  }),
  /** The guest stopped. No data on the wire. */
  STOP: z.strictObject({}),
  /** The guest resumed. No data on the wire. */
  RESUME: z.strictObject({}),
  /** The emulator is exiting. */
  SHUTDOWN: z.strictObject({ guest: z.boolean(), reason: z.enum(SHUTDOWN_CAUSES) }),
} as const;

export type EventName = keyof typeof eventSchemas;
export type EventData<E extends EventName> = z.output<(typeof eventSchemas)[E]>;
/** Events whose data is empty: QEMU leaves the `data` member out for them. */
export type EventsWithoutData = { [E in EventName]: [EventData<E>] extends [Record<string, never>] ? E : never }[EventName];

export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/** An event as it travels: `data` is absent for events without members. */
export interface QmpEventMessage<N extends string = string, D = unknown> {
  event: N;
  data?: D;
  timestamp: QmpTimestamp;
}

/** A typed event as the client hands it out (data `{}` when the wire had none). */
export type QmpEvent = {
  [E in EventName]: { event: E; data: EventData<E>; timestamp: QmpTimestamp };
}[EventName];

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(eventSchemas, name);
}
