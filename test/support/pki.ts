import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its private key, as files and as PEM. */
export interface Issued {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
  /** Lowercase hex, no colons: SHA-256 of the certificate's DER. */
  fingerprint256: string;
}

/** A throw-away PKI for end-to-end tests of mutual TLS, generated with the `openssl` CLI. */
export interface TestPki {
  dir: string;
  /** The trusted client CA (it also signs the server certificate). */
  caCertPath: string;
  caCertPem: string;
  /** CN=localhost, SAN DNS:localhost and IP:127.0.0.1, serverAuth EKU. */
  server: Issued;
  /** The CA's CRL, listing `revokedClient`; valid for 30 days. */
  crlPath: string;
  crlPem: string;
  /** Issues a client certificate signed by the trusted CA (clientAuth EKU). */
  issueClient(options: { cn: string; spiffeId?: string; days?: number }): Issued;
  /** Issues another server certificate for localhost (a new key), as a rotation would. */
  issueServer(): Issued;
  /** CN=revoked-agent, issued by the CA, then revoked and listed in the CRL. */
  revokedClient: Issued;
  otherCa: { certPath: string; certPem: string };
  /** CN=foreign-agent, issued by a different CA (`otherCa`). */
  foreignClient: Issued;
  /** Removes `dir` and everything in it. */
  cleanup(): void;
}

const CRL_DAYS = 30;

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr || String(error)}`, { cause: error });
  }
}

function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replaceAll(':', '').toLowerCase();
}

function generateKey(keyPath: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
}

/** Keeps a name usable in a file name. */
function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 48) || 'cert';
}

/** Escapes the characters `-subj` treats specially. */
function subject(commonName: string): string {
  return `/CN=${commonName.replace(/[\\/+=]/g, '\\$&')}`;
}

/** A positive serial of 16 hex digits (even length, as `openssl ca` wants), random per CA. */
function randomSerial(): string {
  const bytes = randomBytes(8);
  // A positive serial with a fixed high nibble, so it is always 8 bytes long.
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x10;
  return bytes.toString('hex').toUpperCase();
}

/** A CA with an `openssl ca` database (index.txt, serial, crlnumber) in a directory of its own. */
class Authority {
  readonly certPath: string;
  readonly certPem: string;
  private readonly keyPath: string;
  private readonly configPath: string;

  constructor(
    private readonly dir: string,
    commonName: string,
  ) {
    mkdirSync(join(dir, 'newcerts'), { recursive: true });
    this.keyPath = join(dir, 'ca.key.pem');
    this.certPath = join(dir, 'ca.cert.pem');
    this.configPath = join(dir, 'openssl.cnf');
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), `${randomSerial()}\n`);
    writeFileSync(join(dir, 'crlnumber'), '1000\n');
    writeFileSync(
      this.configPath,
      [
        '[ca]',
        'default_ca = test_ca',
        '',
        '[test_ca]',
        `database = ${join(dir, 'index.txt')}`,
        `serial = ${join(dir, 'serial')}`,
        `crlnumber = ${join(dir, 'crlnumber')}`,
        `new_certs_dir = ${join(dir, 'newcerts')}`,
        `certificate = ${this.certPath}`,
        `private_key = ${this.keyPath}`,
        'default_md = sha256',
        'default_days = 30',
        `default_crl_days = ${CRL_DAYS}`,
        'policy = policy_any',
        'unique_subject = no',
        'copy_extensions = none',
        'email_in_dn = no',
        'crl_extensions = crl_ext',
        '',
        '[policy_any]',
        'commonName = supplied',
        '',
        '[crl_ext]',
        'authorityKeyIdentifier = keyid:always',
        '',
        '[req]',
        'distinguished_name = req_dn',
        'prompt = no',
        'string_mask = utf8only',
        '',
        '[req_dn]',
        'CN = unused',
        '',
        '[v3_ca]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid:always',
        '',
      ].join('\n'),
    );
    generateKey(this.keyPath);
    openssl([
      'req',
      '-config',
      this.configPath,
      '-new',
      '-x509',
      '-key',
      this.keyPath,
      '-subj',
      subject(commonName),
      '-days',
      '3650',
      '-extensions',
      'v3_ca',
      '-out',
      this.certPath,
    ]);
    this.certPem = readFileSync(this.certPath, 'utf8');
  }

  /** A new key and a certificate for it with the given extensions (lines of an `openssl ca` extension section). */
  issue(name: string, commonName: string, extensions: string[], days: number): Issued {
    const keyPath = join(this.dir, `${name}.key.pem`);
    const csrPath = join(this.dir, `${name}.csr.pem`);
    const certPath = join(this.dir, `${name}.cert.pem`);
    const extPath = join(this.dir, `${name}.ext.cnf`);
    generateKey(keyPath);
    openssl(['req', '-config', this.configPath, '-new', '-key', keyPath, '-subj', subject(commonName), '-out', csrPath]);
    writeFileSync(
      extPath,
      [
        '[leaf]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid:always',
        ...extensions,
        '',
      ].join('\n'),
    );
    openssl([
      'ca',
      '-batch',
      '-notext',
      '-config',
      this.configPath,
      '-in',
      csrPath,
      '-out',
      certPath,
      '-days',
      String(days),
      '-extfile',
      extPath,
      '-extensions',
      'leaf',
    ]);
    const certPem = readFileSync(certPath, 'utf8');
    return { certPath, keyPath, certPem, keyPem: readFileSync(keyPath, 'utf8'), fingerprint256: fingerprintOf(certPem) };
  }

  revoke(certPath: string): void {
    openssl(['ca', '-config', this.configPath, '-revoke', certPath, '-crl_reason', 'keyCompromise']);
  }

  generateCrl(crlPath: string): string {
    openssl(['ca', '-config', this.configPath, '-gencrl', '-crldays', String(CRL_DAYS), '-out', crlPath]);
    return readFileSync(crlPath, 'utf8');
  }
}

/**
 * Generates a throw-away PKI into a fresh temporary directory: a trusted CA with a server certificate
 * for localhost, a revoked client certificate and the CRL listing it, and a second, untrusted CA with
 * a client certificate of its own. Synchronous; call `cleanup()` when done.
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'agw-pki-'));
  try {
    const ca = new Authority(join(dir, 'ca'), 'Agent Gateway Test Client CA');
    const other = new Authority(join(dir, 'other-ca'), 'Agent Gateway Test Other CA');

    let counter = 0;
    const clientOf = (authority: Authority, options: { cn: string; spiffeId?: string; days?: number }): Issued => {
      counter += 1;
      const extensions = ['extendedKeyUsage = clientAuth'];
      if (options.spiffeId !== undefined) extensions.push(`subjectAltName = URI:${options.spiffeId}`);
      return authority.issue(`client-${sanitize(options.cn)}-${counter}`, options.cn, extensions, options.days ?? 30);
    };

    const serverOf = (name: string): Issued =>
      ca.issue(name, 'localhost', ['extendedKeyUsage = serverAuth', 'subjectAltName = DNS:localhost, IP:127.0.0.1'], 30);
    const server = serverOf('server-localhost');
    const revokedClient = clientOf(ca, { cn: 'revoked-agent', spiffeId: 'spiffe://example.org/agent/revoked' });
    ca.revoke(revokedClient.certPath);
    const crlPath = join(dir, 'ca', 'crl.pem');
    const crlPem = ca.generateCrl(crlPath);
    const foreignClient = clientOf(other, { cn: 'foreign-agent', spiffeId: 'spiffe://example.org/agent/foreign' });

    return {
      dir,
      caCertPath: ca.certPath,
      caCertPem: ca.certPem,
      server,
      crlPath,
      crlPem,
      issueClient: (options) => clientOf(ca, options),
      issueServer: () => serverOf(`server-localhost-${++counter}`),
      revokedClient,
      otherCa: { certPath: other.certPath, certPem: other.certPem },
      foreignClient,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
