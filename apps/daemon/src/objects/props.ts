// A user object's properties as -object (strings, QEMU's option syntax) or object-add (JSON) gives them,
// read with QEMU 7.2's error texts.

/** The properties of one -object / object-add, besides qom-type. */
export type ObjectProps = Readonly<Record<string, unknown>>;

export class ObjectError extends Error {
  override readonly name = 'ObjectError';
}

/** A string property; missing and required: "Parameter 'X' is missing". */
export function stringProp(props: ObjectProps, name: string): string | undefined {
  const value = props[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ObjectError(`Invalid parameter type for '${name}', expected: string`);
  return value;
}

export function requiredString(props: ObjectProps, name: string): string {
  return stringProp(props, name) ?? missing(name);
}

export function missing(name: string): never {
  throw new ObjectError(`Parameter '${name}' is missing`);
}

/** A bool property: true/false from JSON, on/off (yes/no, true/false) from the command line. */
export function boolProp(props: ObjectProps, name: string, fallback: boolean): boolean {
  const value = props[name];
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') throw new ObjectError(`Invalid parameter type for '${name}', expected: boolean`);
  if (['on', 'yes', 'true'].includes(value)) return true;
  if (['off', 'no', 'false'].includes(value)) return false;
  throw new ObjectError(`Parameter '${name}' expects 'on' or 'off'`);
}

/** An enum property: "Parameter 'X' does not accept value 'V'". */
export function enumProp<const T extends readonly string[]>(props: ObjectProps, name: string, values: T, fallback: T[number]): T[number] {
  const value = stringProp(props, name);
  if (value === undefined) return fallback;
  if (!values.includes(value)) throw new ObjectError(`Parameter '${name}' does not accept value '${value}'`);
  return value;
}

/** Properties an object type does not have: "Parameter 'X' is unexpected" (QEMU's wording for object-add). */
export function checkKnown(props: ObjectProps, known: readonly string[]): void {
  for (const key of Object.keys(props)) {
    if (key !== 'id' && key !== 'qom-type' && !known.includes(key)) throw new ObjectError(`Parameter '${key}' is unexpected`);
  }
}
