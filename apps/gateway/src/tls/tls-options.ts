import { readFileSync } from 'node:fs';
import type { GatewayConfig } from '#libs/config';

/**
 * The TLS settings of the agent plane, read from the files named by `TLS_*`. Client certificates
 * are requested when `TLS_CLIENT_CA` is set but not required at the handshake
 * (`rejectUnauthorized: false`): a client without one may still authenticate with a token, and one
 * whose certificate fails (another CA, revoked) gets a clear `UNAUTHORIZED` from the gateway
 * instead of a bare TLS alert. The `mtls` verifier only accepts certificates that verified.
 */
export function tlsOptions(tls: NonNullable<GatewayConfig['tls']>): {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  crl?: Buffer;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  minVersion: 'TLSv1.2';
} {
  return {
    cert: readFileSync(tls.certPath),
    key: readFileSync(tls.keyPath),
    ...(tls.clientCaPath && { ca: readFileSync(tls.clientCaPath), requestCert: true, rejectUnauthorized: false }),
    ...(tls.crlPath && { crl: readFileSync(tls.crlPath) }),
    minVersion: 'TLSv1.2',
  };
}
