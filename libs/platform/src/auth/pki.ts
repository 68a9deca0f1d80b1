/**
 * Certificates for a development or small deployment: a CA, service certificates (server and
 * client use, for mutual TLS) and principal client certificates carrying roles. X.509 encoding is
 * `@peculiar/x509` over Node's WebCrypto (ECDSA P-256, SHA-256); nothing cryptographic is written
 * here. Loaded lazily: services only read PEM files and never load this module.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import type * as X509Module from '@peculiar/x509';
import type { Extension } from '@peculiar/x509';
import { isIP } from 'node:net';
import { InvalidInputError } from '../errors.js';
import { SERVICE_OU } from './authenticator.js';
import { isIdentityName } from './identity.js';
import type { Role } from './roles.js';

type X509 = typeof X509Module;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
let x509: Promise<X509> | undefined;
async function lib(): Promise<X509> {
  x509 ??= (async () => {
    // tsyringe, which @peculiar/x509 uses, needs the Reflect metadata polyfill loaded first.
    await import('reflect-metadata');
    const m = await import('@peculiar/x509');
    m.cryptoProvider.set(webcrypto as unknown as Parameters<typeof m.cryptoProvider.set>[0]);
    return m;
  })();
  return x509;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM. */
export type PemPair = { cert: string; key: string };

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

const serial = (): string => {
  const b = randomBytes(16);
  b[0] &= 0x7f; // a positive INTEGER
  return b.toString('hex');
};

/** A name safe inside an X.500 distinguished name (no separators to escape). */
function dnValue(v: string, what: string): string {
  if (!isIdentityName(v) || /[,+=\\"<>;]/.test(v)) throw new InvalidInputError(`${what} ${JSON.stringify(v)}: use letters, digits and . _ @ : - (at most 128)`);
  return v;
}

/** Creates a self-signed CA valid for `days` (default 3650). */
export async function createCa(opts: { name?: string; days?: number } = {}): Promise<PemPair> {
  const name = opts.name ?? 'Refit development CA';
  if (!/^[\w .-]{1,64}$/.test(name)) throw new InvalidInputError(`CA name ${JSON.stringify(name)}: letters, digits, spaces, . _ - (at most 64)`);
  const m = await lib();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await m.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}, O=Refit`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? 3650) * DAY_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new m.BasicConstraintsExtension(true, 0, true),
      new m.KeyUsagesExtension(m.KeyUsageFlags.keyCertSign | m.KeyUsageFlags.cRLSign, true),
      await m.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/** What to issue: a Refit service (server + client certificate) or a principal holding roles (client only). */
export type CertificateSubject = { service: string; hosts: readonly string[] } | { principal: string; roles: readonly Role[] };

/** Issues a certificate signed by `ca`, valid for `days` (default 825). */
export async function issueCertificate(ca: PemPair, subject: CertificateSubject, days = 825): Promise<PemPair> {
  const m = await lib();
  const caCert = new m.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(ca.key), ALG, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const isService = 'service' in subject;
  const dn = isService
    ? `CN=${dnValue(subject.service, 'service name')}, OU=${SERVICE_OU}, O=Refit`
    : `CN=${dnValue(subject.principal, 'name')}, ${subject.roles.map((r) => `OU=${dnValue(r, 'role')}`).join(', ')}, O=Refit`;
  const extensions: Extension[] = [
    new m.BasicConstraintsExtension(false, undefined, true),
    new m.KeyUsagesExtension(m.KeyUsageFlags.digitalSignature | m.KeyUsageFlags.keyAgreement, true),
    new m.ExtendedKeyUsageExtension(isService ? [m.ExtendedKeyUsage.serverAuth, m.ExtendedKeyUsage.clientAuth] : [m.ExtendedKeyUsage.clientAuth]),
    await m.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (isService) {
    const names = subject.hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }));
    extensions.push(new m.SubjectAlternativeNameExtension(names));
  }
  const cert = await m.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: dn,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(Math.min(now + days * DAY_MS, caCert.notAfter.getTime())),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

function pemBody(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
