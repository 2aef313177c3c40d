// X.509 material for TLS migration tests, made with the openssl command line in a temp dir, in the file
// layout QEMU's tls-creds-x509 reads (ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem,
// client-key.pem).
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir } from './files.js';

const run = promisify(execFile);

export interface CertSubject {
  /** Subject fields in the order openssl writes them (C, O, CN...). */
  C?: string;
  O?: string;
  CN: string;
}

export interface TlsDirsOptions {
  /** The CA's common name (another name gives another, unrelated CA). Default 'mig test CA'. */
  caName?: string;
  /** DNS and IP names in the server certificate. Default localhost and 127.0.0.1. */
  serverNames?: { dns?: string[]; ip?: string[] };
  server?: CertSubject;
  client?: CertSubject;
  /** Where to put them; default a fresh tmpDir(). */
  dir?: string;
}

/** A CA with a server and a client certificate, and the two directories QEMU's endpoints read. */
export interface TlsDirs {
  /** The directory with everything (ca-key.pem too). */
  root: string;
  /** For `endpoint=server`: ca-cert.pem, server-cert.pem, server-key.pem. */
  serverDir: string;
  /** For `endpoint=client`: ca-cert.pem, client-cert.pem, client-key.pem. */
  clientDir: string;
  /** For `endpoint=client` without a certificate of its own: ca-cert.pem only. */
  clientNoCertDir: string;
  /** The client certificate's subject as openssl prints it in RFC 2253 order (CN first). */
  clientDn: string;
}

function subjectArg(s: CertSubject): string {
  const parts: string[] = [];
  if (s.C !== undefined) parts.push(`C=${s.C}`);
  if (s.O !== undefined) parts.push(`O=${s.O}`);
  parts.push(`CN=${s.CN}`);
  return `/${parts.join('/')}`;
}

async function openssl(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run('openssl', args, { cwd });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

/** A key and a certificate signed by the CA in `root`, with the given extensions file. */
async function signed(root: string, name: string, subject: CertSubject, extensions: string): Promise<void> {
  await openssl(['genrsa', '-out', `${name}-key.pem`, '2048'], root);
  await openssl(['req', '-new', '-key', `${name}-key.pem`, '-subj', subjectArg(subject), '-out', `${name}.csr`], root);
  await writeFile(join(root, `${name}.ext`), extensions);
  await openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca-cert.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial',
      '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}-cert.pem`],
    root,
  );
}

/** Makes a CA, a server certificate (with SANs) and a client certificate, in QEMU's layout. */
export async function makeTlsDirs(options: TlsDirsOptions = {}): Promise<TlsDirs> {
  const root = options.dir ?? (await tmpDir('mig-tls-'));
  await mkdir(root, { recursive: true });
  await openssl(['genrsa', '-out', 'ca-key.pem', '2048'], root);
  await openssl(
    ['req', '-x509', '-new', '-key', 'ca-key.pem', '-subj', subjectArg({ O: 'mig tests', CN: options.caName ?? 'mig test CA' }),
      '-days', '30', '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-out', 'ca-cert.pem'],
    root,
  );
  const dns = options.serverNames?.dns ?? ['localhost'];
  const ip = options.serverNames?.ip ?? ['127.0.0.1'];
  const san = [...dns.map((d) => `DNS:${d}`), ...ip.map((a) => `IP:${a}`)].join(',');
  await signed(root, 'server', options.server ?? { O: 'mig tests', CN: dns[0] ?? 'server' },
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  const client = options.client ?? { C: 'GB', O: 'mig tests', CN: 'source.example' };
  await signed(root, 'client', client,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  const serverDir = join(root, 'server');
  const clientDir = join(root, 'client');
  const clientNoCertDir = join(root, 'client-nocert');
  for (const d of [serverDir, clientDir, clientNoCertDir]) {
    await mkdir(d, { recursive: true });
    await copyFile(join(root, 'ca-cert.pem'), join(d, 'ca-cert.pem'));
  }
  for (const f of ['server-cert.pem', 'server-key.pem']) await copyFile(join(root, f), join(serverDir, f));
  for (const f of ['client-cert.pem', 'client-key.pem']) await copyFile(join(root, f), join(clientDir, f));
  const printed = await openssl(['x509', '-in', 'client-cert.pem', '-noout', '-subject', '-nameopt', 'RFC2253'], root);
  return { root, serverDir, clientDir, clientNoCertDir, clientDn: printed.trim().replace(/^subject=/, '') };
}
