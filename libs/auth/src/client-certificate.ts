import { createHash, X509Certificate } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { unauthorized } from '#libs/protocol';
import { parseXfcc } from './xfcc.js';

/** A client certificate as the verifiers see it, whether it came over TLS or from a trusted proxy. */
export interface PresentedCertificate {
  source: 'tls' | 'xfcc';
  /** The chain verified against `TLS_CLIENT_CA` and the CRL (by our TLS stack, or by the proxy). */
  verified: boolean;
  /** Why it did not verify (`CERT_REVOKED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, …). */
  verificationError: string | undefined;
  /** SHA-256 of the DER, lowercase hex without colons. */
  fingerprint256: string;
  spiffeIds: string[];
  subjectCn: string | undefined;
  notAfter: Date | undefined;
}

/** The certificate a client presented on this TLS connection, if it presented one. */
export function certificateFromTls(socket: TLSSocket): PresentedCertificate | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer: PeerCertificate = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0 || !peer.fingerprint256) return undefined;
  const cn = peer.subject?.CN;
  return {
    source: 'tls',
    verified: socket.authorized,
    verificationError: socket.authorized ? undefined : String(socket.authorizationError ?? 'UNVERIFIED'),
    fingerprint256: peer.fingerprint256.replaceAll(':', '').toLowerCase(),
    spiffeIds: spiffeIdsOf(peer.subjectaltname),
    subjectCn: Array.isArray(cn) ? cn[0] : cn,
    notAfter: peer.valid_to ? new Date(peer.valid_to) : undefined,
  };
}

/**
 * The certificate a trusted TLS-terminating proxy forwarded in `X-Forwarded-Client-Cert`.
 * Only one element is accepted: with several, the gateway cannot tell which proxy vouched for
 * which hop, so the proxy in front of it must sanitize the header (Envoy `SANITIZE_SET`).
 * When the element carries the certificate (`Cert`), its hash must match `Hash`.
 */
export function certificateFromXfcc(header: string): PresentedCertificate {
  const [element, ...others] = parseXfcc(header);
  if (!element || others.length > 0) {
    throw unauthorized(
      'invalid_forwarded_certificate',
      'X-Forwarded-Client-Cert must carry exactly one element (configure the proxy to sanitize it)',
    );
  }
  let fingerprint = element.hash?.toLowerCase();
  let notAfter: Date | undefined;
  let spiffeIds = (element.uri ?? '').split(',').filter((u) => u.startsWith('spiffe://'));
  let subjectCn = element.subject ? cnOf(element.subject) : undefined;
  if (element.cert) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(decodeURIComponent(element.cert));
    } catch {
      throw unauthorized('invalid_forwarded_certificate', 'X-Forwarded-Client-Cert carries an unreadable certificate');
    }
    const actual = createHash('sha256').update(certificate.raw).digest('hex');
    if (fingerprint !== undefined && fingerprint !== actual)
      throw unauthorized('invalid_forwarded_certificate', 'X-Forwarded-Client-Cert Hash does not match its Cert');
    fingerprint = actual;
    notAfter = new Date(certificate.validTo);
    if (spiffeIds.length === 0) spiffeIds = spiffeIdsOf(certificate.subjectAltName);
    subjectCn ??= cnOf(certificate.subject.replaceAll('\n', ','));
  }
  if (!fingerprint || !/^[0-9a-f]{64}$/.test(fingerprint))
    throw unauthorized('invalid_forwarded_certificate', 'X-Forwarded-Client-Cert has no SHA-256 Hash');
  return { source: 'xfcc', verified: true, verificationError: undefined, fingerprint256: fingerprint, spiffeIds, subjectCn, notAfter };
}

function spiffeIdsOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('URI:spiffe://'))
    .map((entry) => entry.slice('URI:'.length));
}

function cnOf(subject: string): string | undefined {
  const match = /(?:^|,)\s*CN=([^,]+)/.exec(subject);
  return match?.[1]?.trim();
}
