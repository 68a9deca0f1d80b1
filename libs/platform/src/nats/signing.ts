/**
 * Event provenance: every event a service publishes is signed with its own Ed25519 key (by the
 * outbox relay), and every consumer checks the signature against the publisher's public key and
 * that the publisher is one the event may come from (a `model.evaluated` only from the evaluator).
 * Someone who can publish on NATS but holds no service key cannot cause a promotion, a model swap,
 * a run transition or a ledger entry. Only `<prefix>.external.*` events go unsigned: they come
 * from other systems and every consumer of them checks what they ask against the pipeline's spec.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.js';
import { eventByName, eventByType } from '../events.js';
import { HEADER_EVENT_TYPE, HEADER_RUN_ID, HEADER_SOURCE } from './headers.js';
import type { ReceivedEvent } from './received-event.js';

/** Header carrying `ed25519:<base64 signature>`. */
export const HEADER_SIGNATURE = 'Refit-Signature';

/** What a signature covers: where the event goes, what it is, who sent it, for which run, and the payload. */
export type SignedFields = { subject: string; id: string; type: string; source: string; runId?: string; payload: Uint8Array };

function signedBytes(f: SignedFields): Buffer {
  const digest = createHash('sha256').update(f.payload).digest('hex');
  return Buffer.from(['refit-event-v1', f.subject, f.id, f.type, f.source, f.runId ?? '', digest].join('\n'), 'utf8');
}

/** Signs the events of one service. */
export type EventSigner = { readonly source: string; sign(f: Omit<SignedFields, 'source'>): string };

/** A signer for `source` from its Ed25519 private key. */
export function createEventSigner(source: string, privateKey: KeyObject): EventSigner {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new InvalidInputError(`the event key of ${source} is a ${privateKey.asymmetricKeyType} key; expected Ed25519`);
  return { source, sign: (f) => `ed25519:${sign(null, signedBytes({ ...f, source }), privateKey).toString('base64')}` };
}

/** Reads a PEM Ed25519 private key file (REFIT_EVENT_KEY). */
export function readEventPrivateKey(path: string): KeyObject {
  try {
    return createPrivateKey(readFileSync(path));
  } catch (err) {
    throw new InvalidInputError(`cannot read the event signing key at ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads every `<service>.pub.pem` or `<service>.<label>.pub.pem` (several keys of a service during
 * a rotation) in `dir` (REFIT_EVENT_KEYS_DIR).
 */
export function readEventPublicKeys(dir: string): Map<string, KeyObject[]> {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    throw new InvalidInputError(`cannot read the event public keys folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const keys = new Map<string, KeyObject[]>();
  for (const f of files) {
    const m = /^([a-z][a-z0-9-]*)(?:\.[A-Za-z0-9_-]+)?\.pub\.pem$/.exec(f);
    if (!m) continue;
    let key: KeyObject;
    try {
      key = createPublicKey(readFileSync(join(dir, f)));
    } catch (err) {
      throw new InvalidInputError(`${join(dir, f)} is not a PEM public key: ${(err as Error).message}`, { cause: err });
    }
    keys.set(m[1], [...(keys.get(m[1]) ?? []), key]);
  }
  if (keys.size === 0) throw new InvalidInputError(`${dir} holds no <service>.pub.pem event keys`);
  return keys;
}

/** Checks an event's origin; returns why it is refused, or undefined when it may be handled. */
export type EventVerifier = { problem(ev: ReceivedEvent): string | undefined };

/** A verifier that knows every service's public keys. */
export function createEventVerifier(opts: { subjectPrefix: string; keys: ReadonlyMap<string, readonly KeyObject[]> }): EventVerifier {
  const prefix = `${opts.subjectPrefix}.`;
  return {
    problem(ev) {
      if (!ev.subject.startsWith(prefix)) return `subject ${ev.subject} is outside ${opts.subjectPrefix}.>`;
      const name = ev.subject.slice(prefix.length);
      if (name.startsWith('external.')) return undefined;
      const source = ev.headers[HEADER_SOURCE];
      if (!source) return 'it names no source (Refit-Source)';
      const allowed = producersOf(name);
      if (allowed === undefined) return `no Refit service publishes on ${ev.subject}`;
      if (allowed !== 'any-service' && !allowed.includes(source)) return `${source} may not publish ${name} (only ${allowed.join(', ')})`;
      const type = ev.headers[HEADER_EVENT_TYPE] ?? '';
      const def = eventByName(name);
      if (def && type !== def.schema.typeName) return `its type ${type || '(none)'} is not ${def.schema.typeName}`;
      if (!def && type && !eventByType(type)) return `its type ${type} is not a Refit event`;
      const keys = opts.keys.get(source);
      if (!keys) return `no event key is known for ${source}`;
      const sig = /^ed25519:([A-Za-z0-9+/]+={0,2})$/.exec(ev.headers[HEADER_SIGNATURE] ?? '');
      if (!sig) return 'it carries no signature';
      const bytes = signedBytes({ subject: ev.subject, id: ev.id, type, source, runId: ev.headers[HEADER_RUN_ID], payload: ev.data });
      const signature = Buffer.from(sig[1], 'base64');
      if (!keys.some((k) => verify(null, bytes, k, signature))) return `its signature does not match ${source}'s key`;
      return undefined;
    },
  };
}

/** Who may publish `<prefix>.<name>`: an event's producers, or a service's own dead letters. */
function producersOf(name: string): readonly string[] | 'any-service' | undefined {
  const dlq = /^dlq\.([a-z][a-z0-9-]*)$/.exec(name);
  if (dlq) return [dlq[1]];
  const def = eventByName(name);
  if (!def || def.from === 'external') return undefined;
  return def.from;
}
