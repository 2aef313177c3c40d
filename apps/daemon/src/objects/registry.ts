// The daemon's user-creatable objects (QEMU's /objects container): -object on the command line and
// object-add / object-del over QMP. The migration looks its tls-creds and tls-authz up here by id.
import { createAuthzList, createAuthzSimple, type Authz } from './authz.js';
import { ObjectError, requiredString, type ObjectProps } from './props.js';
import { createTlsCredsX509, type TlsCredsX509, type TlsEndpoint } from './tls-creds.js';

/** Objects made elsewhere (memory backends, from the command line only) take an id here too. */
export interface OtherObject {
  readonly type: string;
  readonly id: string;
}

export type UserObject = TlsCredsX509 | Authz | OtherObject;

/** Types object-add can make; memory backends exist only from the command line in mig. */
export const ADDABLE_OBJECT_TYPES = ['tls-creds-x509', 'authz-simple', 'authz-list'] as const;

const ID = /^[A-Za-z][A-Za-z0-9._-]*$/;

export class UserObjects {
  readonly #objects = new Map<string, UserObject>();

  /** Makes a tls-creds-x509 / authz-simple / authz-list from its properties (QEMU's error texts). */
  add(type: string, props: ObjectProps): UserObject {
    const id = requiredString(props, 'id');
    if (!ID.test(id)) throw new ObjectError("Parameter 'id' expects an identifier");
    if (this.#objects.has(id)) throw new ObjectError(`attempt to add duplicate property '${id}' to object (type 'container')`);
    const object = create(type, id, props);
    this.#objects.set(id, object);
    return object;
  }

  /** An object made elsewhere (a memory backend), so that its id is taken. */
  register(object: OtherObject): void {
    if (this.#objects.has(object.id)) throw new ObjectError(`attempt to add duplicate property '${object.id}' to object (type 'container')`);
    this.#objects.set(object.id, object);
  }

  delete(id: string): void {
    const object = this.#objects.get(id);
    if (object === undefined) throw new ObjectError(`object '${id}' not found`);
    if (object.type.startsWith('memory-backend')) throw new ObjectError(`object '${id}' is in use, can not be deleted`);
    this.#objects.delete(id);
  }

  get(id: string): UserObject | undefined {
    return this.#objects.get(id);
  }

  /** migration/tls.c's migration_tls_get_creds: the object, of the endpoint the migration's side needs. */
  tlsCreds(id: string, endpoint: TlsEndpoint): TlsCredsX509 {
    const object = this.#objects.get(id);
    if (object === undefined || object.type !== 'tls-creds-x509') throw new ObjectError(`No TLS credentials with id '${id}'`);
    const creds = object as TlsCredsX509;
    if (creds.endpoint !== endpoint) throw new ObjectError(`Expecting TLS credentials with a ${endpoint} endpoint`);
    return creds;
  }

  /** authz/base.c's qauthz_is_allowed_by_id lookup. */
  authz(id: string): Authz {
    const object = this.#objects.get(id);
    if (object === undefined) throw new ObjectError(`Cannot find QAuthZ object ID ${id}`);
    if (object.type !== 'authz-simple' && object.type !== 'authz-list') throw new ObjectError(`Object '${id}' is not a QAuthZ subclass`);
    return object as Authz;
  }
}

function create(type: string, id: string, props: ObjectProps): UserObject {
  switch (type) {
    case 'tls-creds-x509':
      return createTlsCredsX509(id, props);
    case 'authz-simple':
      return createAuthzSimple(id, props);
    case 'authz-list':
      return createAuthzList(id, props);
    default:
      throw new ObjectError(`Parameter 'qom-type' does not accept value '${type}'`);
  }
}
