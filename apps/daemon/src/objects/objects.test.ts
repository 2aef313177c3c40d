import { cpSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTlsDirs, type TlsDirs } from '@mig/test-helpers';
import { globMatches, isAllowed } from './authz.js';
import { outgoingTls, incomingTls } from './migration-tls.js';
import { UserObjects } from './registry.js';

let certs: TlsDirs;
let root = '';
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mig-objects-'));
  certs = await makeTlsDirs({ dir: join(root, 'ca') });
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const add = (type: string, props: Record<string, unknown>): unknown => new UserObjects().add(type, props);

describe('tls-creds-x509', () => {
  it("QEMU's defaults: endpoint=client, verify-peer=on; a client without its own certificate presents none", () => {
    const objects = new UserObjects();
    const creds = objects.add('tls-creds-x509', { id: 't', dir: certs.clientNoCertDir });
    expect(creds).toMatchObject({ endpoint: 'client', verifyPeer: true });
    expect((creds as { material: object }).material).toEqual({ ca: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(objects.add('tls-creds-x509', { id: 's', dir: certs.serverDir, endpoint: 'server', 'verify-peer': 'off' })).toMatchObject({ verifyPeer: false });
  });

  it.each([
    [{ id: 't', endpoint: 'client' }, "Missing 'dir' property value"],
    [{ id: 't', dir: '/nonexistent-mig-dir', endpoint: 'client' }, 'Unable to access credentials /nonexistent-mig-dir/ca-cert.pem: No such file or directory'],
    [{ id: 't', dir: 'DIR', endpoint: 'bogus' }, "Parameter 'endpoint' does not accept value 'bogus'"],
    [{ id: 't', dir: 'DIR', 'verify-peer': 'maybe' }, "Parameter 'verify-peer' expects 'on' or 'off'"],
    [{ id: 't', dir: 'DIR', 'verify-peer': 1 }, "Invalid parameter type for 'verify-peer', expected: boolean"],
    [{ id: 't', dir: 'DIR', colour: 'red' }, "Parameter 'colour' is unexpected"],
    [{ dir: 'DIR' }, "Parameter 'id' is missing"],
  ] as Array<[Record<string, unknown>, string]>)('%j → %s', (props, message) => {
    const withDir = { ...props, ...(props.dir === 'DIR' ? { dir: certs.serverDir } : {}) };
    expect(() => add('tls-creds-x509', withDir)).toThrow(message);
  });

  it('a server needs its certificate and key (a client directory has none)', () => {
    expect(() => add('tls-creds-x509', { id: 't', dir: certs.clientDir, endpoint: 'server' })).toThrow(
      `Unable to access credentials ${join(certs.clientDir, 'server-cert.pem')}: No such file or directory`,
    );
  });

  it('a client with a certificate but no key: the key is named', () => {
    const dir = join(root, 'nokey');
    cpSync(certs.clientDir, dir, { recursive: true });
    unlinkSync(join(dir, 'client-key.pem'));
    expect(() => add('tls-creds-x509', { id: 't', dir })).toThrow(`Unable to access credentials ${join(dir, 'client-key.pem')}`);
  });
});

describe('authz-simple, authz-list', () => {
  it('authz-simple needs identity; authz-list rules from JSON or dotted keys', () => {
    expect(() => add('authz-simple', { id: 'a' })).toThrow("Parameter 'identity' is missing");
    expect(() => add('authz-list', { id: 'a', policy: 'bogus' })).toThrow("Parameter 'policy' does not accept value 'bogus'");
    expect(() => add('authz-list', { id: 'a', rules: [{ policy: 'allow' }] })).toThrow("Parameter 'rules[0].match' is missing");
    expect(() => add('authz-list', { id: 'a', rules: [{ match: 'x', policy: 'allow', format: 'regex' }] })).toThrow(
      "Parameter 'format' does not accept value 'regex'",
    );
    const dotted = add('authz-list', { id: 'a', policy: 'allow', 'rules.0.match': 'CN=bad*', 'rules.0.policy': 'deny', 'rules.0.format': 'glob' });
    expect(dotted).toEqual({ type: 'authz-list', id: 'a', policy: 'allow', rules: [{ match: 'CN=bad*', policy: 'deny', format: 'glob' }] });
  });

  it('first matching rule wins, else the policy; glob is * and ?', () => {
    const list = { type: 'authz-list' as const, id: 'a', policy: 'deny' as const, rules: [
      { match: 'C=GB,O=mig tests,CN=bad', policy: 'deny' as const, format: 'exact' as const },
      { match: 'C=GB,O=mig tests,CN=*', policy: 'allow' as const, format: 'glob' as const },
    ] };
    expect(isAllowed(list, 'C=GB,O=mig tests,CN=source.example')).toBe(true);
    expect(isAllowed(list, 'C=GB,O=mig tests,CN=bad')).toBe(false);
    expect(isAllowed(list, 'C=FR,O=mig tests,CN=x')).toBe(false);
    expect(globMatches('a?c*', 'abcdef')).toBe(true);
    expect(globMatches('a?c', 'ac')).toBe(false);
    expect(isAllowed({ type: 'authz-simple', id: 's', identity: 'CN=x' }, 'CN=x')).toBe(true);
  });
});

describe('the registry and the migration parameters', () => {
  it("QEMU's words for an unknown id, the wrong endpoint, a duplicate, an unknown authz", () => {
    const objects = new UserObjects();
    objects.add('tls-creds-x509', { id: 'c', dir: certs.clientDir });
    objects.add('authz-simple', { id: 'a', identity: 'CN=x' });
    const params = { 'tls-creds': 'c', 'tls-hostname': '', 'tls-authz': '' };
    expect(outgoingTls(params, objects)).toMatchObject({ role: 'client', verifyPeer: true });
    expect(outgoingTls({ ...params, 'tls-creds': '' }, objects)).toBeUndefined();
    expect(() => outgoingTls({ ...params, 'tls-creds': 'nope' }, objects)).toThrow("No TLS credentials with id 'nope'");
    expect(() => outgoingTls({ ...params, 'tls-creds': 'a' }, objects)).toThrow("No TLS credentials with id 'a'");
    expect(() => incomingTls(params, objects)).toThrow('Expecting TLS credentials with a server endpoint');
    objects.add('tls-creds-x509', { id: 's', dir: certs.serverDir, endpoint: 'server' });
    expect(() => incomingTls({ ...params, 'tls-creds': 's', 'tls-authz': 'zz' }, objects)).toThrow('Cannot find QAuthZ object ID zz');
    expect(() => incomingTls({ ...params, 'tls-creds': 's', 'tls-authz': 'c' }, objects)).toThrow("Object 'c' is not a QAuthZ subclass");
    expect(incomingTls({ ...params, 'tls-creds': 's', 'tls-authz': 'a' }, objects)).toMatchObject({ role: 'server', authz: { identity: 'CN=x' } });
    expect(() => objects.add('authz-simple', { id: 'a', identity: 'y' })).toThrow("attempt to add duplicate property 'a' to object (type 'container')");
    expect(() => objects.add('iothread', { id: 'i' })).toThrow("Parameter 'qom-type' does not accept value 'iothread'");
    objects.delete('a');
    expect(() => objects.delete('a')).toThrow("object 'a' not found");
  });
});
