/**
 * TLS for gRPC: every server presents its certificate and asks for the client's; a client
 * certificate that verifies against the CA identifies the caller (Refit's services, or a principal
 * with roles), and a caller without one may still present a bearer token. Clients verify the
 * server against the same CA.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, credentials, experimental, type ChannelCredentials, type ServerCredentials } from '@grpc/grpc-js';
import { InvalidInputError } from '../errors.js';

/** The PEM files of one party: the CA it trusts, its certificate chain and its private key. */
export type TlsMaterial = { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };

/** File names inside a TLS folder (the layout of a Kubernetes TLS secret with its CA). */
export const TLS_FILES = Object.freeze({ ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' });

function readPem(path: string, what: string, marker: RegExp): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new InvalidInputError(`cannot read ${what} at ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!marker.test(data.toString('latin1'))) throw new InvalidInputError(`${path} is not a PEM ${what}`);
  return data;
}

/** A PEM CA certificate file. */
export const readCaFile = (path: string): Buffer => readPem(path, 'CA certificate', /-----BEGIN CERTIFICATE-----/);

/** Reads `ca.crt`, `tls.crt` and `tls.key` from `dir`; each missing or malformed file is named. */
export function loadTlsDir(dir: string): TlsMaterial {
  return {
    ca: readCaFile(join(dir, TLS_FILES.ca)),
    cert: readPem(join(dir, TLS_FILES.cert), 'certificate', /-----BEGIN CERTIFICATE-----/),
    key: readPem(join(dir, TLS_FILES.key), 'private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
}

// grpc-js asks providers for updates; these never change (rotation is a rolling restart). The
// update is delivered on the next microtask, as a file-watching provider would: grpc-js registers
// the server's watcher only after it has subscribed to the provider, and would miss a synchronous one.
function staticProvider(update: { ca?: Buffer; cert?: Buffer; key?: Buffer }): experimental.CertificateProvider {
  return {
    addCaCertificateListener: (l) => queueMicrotask(() => l(update.ca ? { caCertificate: update.ca } : null)),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => queueMicrotask(() => l(update.cert && update.key ? { certificate: update.cert, privateKey: update.key } : null)),
    removeIdentityCertificateListener: () => undefined,
  };
}

/**
 * Server credentials that request a client certificate without requiring one: a verified
 * certificate reaches the handler (through the call's auth context), an unverified one is
 * ignored, and a caller with none can still authenticate with a bearer token or be told what it
 * needs. (`ServerCredentials.createSsl` can only require a certificate or not ask for one.)
 */
export function serverCredentials(m: TlsMaterial): ServerCredentials {
  // grpc-js names the first parameter after the CA, but uses it as the identity provider; one
  // provider serving both keeps that from mattering.
  const provider = staticProvider(m);
  return experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** Credentials of a client: the CA to verify servers with, and optionally a client certificate and a bearer token. */
export function channelCredentials(opts: { ca: Buffer; cert?: Buffer; key?: Buffer; token?: string }): ChannelCredentials {
  const tls = opts.cert && opts.key ? credentials.createSsl(opts.ca, opts.key, opts.cert) : credentials.createSsl(opts.ca);
  if (!opts.token) return tls;
  const header = `Bearer ${opts.token}`;
  return credentials.combineChannelCredentials(
    tls,
    credentials.createFromMetadataGenerator((_params, callback) => {
      const md = new Metadata();
      md.set('authorization', header);
      callback(null, md);
    }),
  );
}
