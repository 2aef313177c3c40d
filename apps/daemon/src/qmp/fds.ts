// getfd and closefd: descriptors handed over with SCM_RIGHTS on a unix QMP socket, kept by name per monitor
// (QMP listener) as QEMU keeps them, until `migrate fd:NAME` or `migrate-incoming fd:NAME` takes one (its
// transport owns and closes it from then) or closefd drops it. Error texts are QEMU 7.2's.
import { closeSync } from 'node:fs';
import { QmpError, type QmpCommandContext, type QmpHandlers } from '@mig/qmp';
import type { TransportContext } from '@mig/transports';

export type FdHandlers = Pick<QmpHandlers, 'getfd' | 'closefd'>;

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

const startsWithDigit = (name: string): boolean => /^[0-9]/.test(name);

/** The named descriptors of every monitor. */
export class MonitorDescriptors {
  readonly #monitors = new Map<number, Map<string, number>>();

  #names(monitor: number): Map<string, number> {
    let names = this.#monitors.get(monitor);
    if (names === undefined) this.#monitors.set(monitor, (names = new Map()));
    return names;
  }

  /** getfd: keeps `fd` as `name`; a name held already gets the new descriptor and its old one is closed. */
  add(monitor: number, name: string, fd: number): void {
    const names = this.#names(monitor);
    const old = names.get(name);
    names.set(name, fd);
    if (old !== undefined) closeQuietly(old);
  }

  /** closefd. */
  close(monitor: number, name: string): void {
    const fd = this.#names(monitor).get(name);
    if (fd === undefined) throw new QmpError('GenericError', `File descriptor named '${name}' not found`);
    this.#names(monitor).delete(name);
    closeQuietly(fd);
  }

  /** migrate fd:NAME: the descriptor leaves the monitor; the caller owns it (QEMU's monitor_get_fd). */
  take(monitor: number, name: string): number {
    const fd = this.#names(monitor).get(name);
    if (fd === undefined) throw new QmpError('GenericError', `File descriptor named '${name}' has not been found`);
    this.#names(monitor).delete(name);
    return fd;
  }

  /** The names a monitor holds, in getfd order. */
  names(monitor: number): string[] {
    return [...this.#names(monitor).keys()];
  }

  /** At shutdown. */
  closeAll(): void {
    for (const names of this.#monitors.values()) for (const fd of names.values()) closeQuietly(fd);
    this.#monitors.clear();
  }
}

export function fdHandlers(store: MonitorDescriptors): FdHandlers {
  return {
    getfd: (args, ctx) => {
      const fd = ctx.takeDescriptor();
      if (fd === undefined) throw new QmpError('GenericError', 'No file descriptor supplied via SCM_RIGHTS');
      if (startsWithDigit(args.fdname)) {
        closeQuietly(fd);
        throw new QmpError('GenericError', "Parameter 'fdname' expects a name not starting with a digit");
      }
      store.add(ctx.monitor, args.fdname, fd);
    },
    closefd: (args, ctx) => store.close(ctx.monitor, args.fdname),
  };
}

/** `-incoming fd:N`, or a number in migrate-incoming: a descriptor inherited from the parent (QEMU's qemu_parse_fd). */
export function inheritedDescriptor(name: string): number {
  if (!/^[0-9]+$/.test(name) || !Number.isSafeInteger(Number(name))) {
    throw new QmpError('GenericError', `Invalid file descriptor number '${name}'`);
  }
  return Number(name);
}

/** migrate fd:NAME: only a name getfd gave this monitor. */
export function outgoingDescriptors(store: MonitorDescriptors, ctx: Pick<QmpCommandContext, 'monitor'>): TransportContext {
  return { takeDescriptor: (name) => store.take(ctx.monitor, name) };
}

/** migrate-incoming fd:NAME: a name starting with a digit is an inherited number, else a getfd name (QEMU's monitor_fd_param). */
export function incomingDescriptors(store: MonitorDescriptors, ctx: Pick<QmpCommandContext, 'monitor'>): TransportContext {
  return { takeDescriptor: (name) => (startsWithDigit(name) ? inheritedDescriptor(name) : store.take(ctx.monitor, name)) };
}

/** `-incoming fd:N` on the command line: no monitor, so only a number. */
export const commandLineDescriptors: TransportContext = { takeDescriptor: inheritedDescriptor };
