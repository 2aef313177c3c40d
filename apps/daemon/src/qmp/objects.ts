// object-add and object-del: the user objects a migration's TLS needs (tls-creds-x509, authz-simple,
// authz-list), with QEMU 7.2's error texts.
import { QmpError, type QmpHandlers } from '@mig/qmp';
import { ObjectError } from '../objects/props.js';
import type { UserObjects } from '../objects/registry.js';

export type ObjectHandlers = Pick<QmpHandlers, 'object-add' | 'object-del'>;

function asQmpError(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof ObjectError) throw new QmpError('GenericError', err.message);
    throw err;
  }
}

export function objectHandlers(objects: UserObjects): ObjectHandlers {
  return {
    'object-add': (args) => {
      const { 'qom-type': type, ...props } = args;
      asQmpError(() => objects.add(type, props));
    },
    'object-del': (args) => asQmpError(() => objects.delete(args.id)),
  };
}
