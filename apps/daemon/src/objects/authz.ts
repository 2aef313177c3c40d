// authz-simple and authz-list: QEMU 7.2's authorization objects (authz/simple.c, authz/list.c), asked about
// the client certificate's distinguished name on a TLS target. Plain data, so that a migration worker can
// carry a copy and ask it there.
import { checkKnown, enumProp, ObjectError, requiredString, stringProp, type ObjectProps } from './props.js';

export type AuthzPolicy = 'allow' | 'deny';
export type AuthzFormat = 'exact' | 'glob';

export interface AuthzRule {
  match: string;
  policy: AuthzPolicy;
  format: AuthzFormat;
}

export type Authz =
  | { readonly type: 'authz-simple'; readonly id: string; readonly identity: string }
  | { readonly type: 'authz-list'; readonly id: string; readonly policy: AuthzPolicy; readonly rules: readonly AuthzRule[] };

export function createAuthzSimple(id: string, props: ObjectProps): Authz {
  checkKnown(props, ['identity']);
  return { type: 'authz-simple', id, identity: requiredString(props, 'identity') };
}

/** `rules` as object-add's JSON list, or the command line's dotted keys (rules.0.match=...). */
export function createAuthzList(id: string, props: ObjectProps): Authz {
  const rulesProps = Object.keys(props).filter((k) => k.startsWith('rules.'));
  checkKnown(props, ['policy', 'rules', ...rulesProps]);
  const policy = enumProp(props, 'policy', ['allow', 'deny'] as const, 'deny');
  const list = props['rules'] ?? dottedRules(props, rulesProps);
  if (!Array.isArray(list)) throw new ObjectError("Invalid parameter type for 'rules', expected: array");
  const rules = list.map((rule: unknown, i) => parseRule(rule, i));
  return { type: 'authz-list', id, policy, rules };
}

function dottedRules(props: ObjectProps, keys: readonly string[]): Record<string, unknown>[] {
  const rules: Record<string, unknown>[] = [];
  for (const key of keys) {
    const [, index, member] = /^rules\.(\d+)\.(\w+)$/.exec(key) ?? [];
    if (index === undefined || member === undefined) throw new ObjectError(`Parameter '${key}' is unexpected`);
    (rules[Number(index)] ??= {})[member] = props[key];
  }
  return rules;
}

function parseRule(rule: unknown, i: number): AuthzRule {
  if (rule === null || typeof rule !== 'object') throw new ObjectError(`Invalid parameter type for 'rules[${i}]', expected: object`);
  const r = rule as ObjectProps;
  for (const key of Object.keys(r)) {
    if (!['match', 'policy', 'format'].includes(key)) throw new ObjectError(`Parameter 'rules[${i}].${key}' is unexpected`);
  }
  const match = stringProp(r, 'match');
  if (match === undefined) throw new ObjectError(`Parameter 'rules[${i}].match' is missing`);
  if (r['policy'] === undefined) throw new ObjectError(`Parameter 'rules[${i}].policy' is missing`);
  return {
    match,
    policy: enumProp(r, 'policy', ['allow', 'deny'] as const, 'deny'),
    format: enumProp(r, 'format', ['exact', 'glob'] as const, 'exact'),
  };
}

/** GLib's g_pattern_match_simple: `*` any run of characters, `?` one character, nothing else special. */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === text[t]))) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether `identity` is allowed: authz-simple by equality; authz-list by its first matching rule, else its policy. */
export function isAllowed(authz: Authz, identity: string): boolean {
  if (authz.type === 'authz-simple') return authz.identity === identity;
  for (const rule of authz.rules) {
    const hit = rule.format === 'glob' ? globMatches(rule.match, identity) : rule.match === identity;
    if (hit) return rule.policy === 'allow';
  }
  return authz.policy === 'allow';
}
