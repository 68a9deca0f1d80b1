import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelEvaluatedSchema, Verdict } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../events.js';
import { HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_RUN_ID, HEADER_SOURCE } from './headers.js';
import type { ReceivedEvent } from './received-event.js';
import { createEventSigner, createEventVerifier, HEADER_SIGNATURE } from './signing.js';

const keys = Object.fromEntries(['evaluator', 'trigger', 'registry'].map((s) => [s, generateKeyPairSync('ed25519')]));
const verifier = createEventVerifier({ subjectPrefix: 'refit', keys: new Map(Object.entries(keys).map(([s, k]) => [s, [k.publicKey]])) });
const payload = toBinary(ModelEvaluatedSchema, create(ModelEvaluatedSchema, { context: { runId: 'r1', pipeline: 'p' }, verdict: Verdict.PASS }));

/** An event as a consumer receives it, signed by `signedBy` (or unsigned) while claiming `source`. */
function event(opts: { subject?: string; source?: string; signedBy?: string; type?: string; data?: Uint8Array; runId?: string }): ReceivedEvent {
  const id = randomUUID();
  const subject = opts.subject ?? 'refit.model.evaluated';
  const type = opts.type ?? EVENTS.modelEvaluated.schema.typeName;
  const source = opts.source ?? 'evaluator';
  const headers: Record<string, string> = { [HEADER_EVENT_ID]: id, [HEADER_EVENT_TYPE]: type, [HEADER_SOURCE]: source, [HEADER_RUN_ID]: 'r1' };
  // Signed with `signedBy`'s key over the claimed source: a forger may claim any source.
  if (opts.signedBy) headers[HEADER_SIGNATURE] = createEventSigner(source, keys[opts.signedBy].privateKey).sign({ subject, id, type, runId: 'r1', payload });
  if (opts.runId !== undefined) headers[HEADER_RUN_ID] = opts.runId;
  return { id, type, subject, source, runId: headers[HEADER_RUN_ID], data: opts.data ?? payload, headers, deliveryCount: 1, decode: () => { throw new Error('unused'); } } as ReceivedEvent;
}

describe('event provenance', () => {
  it('accepts an event signed by its own publisher', () => {
    expect(verifier.problem(event({ signedBy: 'evaluator' }))).toBeUndefined();
  });
  it('refuses an unsigned model.evaluated (anyone with NATS access could have sent it)', () => {
    expect(verifier.problem(event({}))).toBe('it carries no signature');
  });
  it('refuses an event signed with another service\'s key while claiming the rightful source', () => {
    expect(verifier.problem(event({ source: 'evaluator', signedBy: 'trigger' }))).toMatch(/signature does not match evaluator's key/);
  });
  it('refuses an event its signer may not publish', () => {
    expect(verifier.problem(event({ source: 'trigger', signedBy: 'trigger' }))).toBe('trigger may not publish model.evaluated (only evaluator)');
  });
  it('refuses a signed event whose payload, run id or type was changed on the way', () => {
    const e = event({ signedBy: 'evaluator' });
    expect(verifier.problem({ ...e, data: toBinary(ModelEvaluatedSchema, create(ModelEvaluatedSchema, { context: { runId: 'r1', pipeline: 'p' }, verdict: Verdict.FAIL })) })).toMatch(/signature does not match/);
    expect(verifier.problem({ ...e, headers: { ...e.headers, [HEADER_RUN_ID]: 'r2' } })).toMatch(/signature does not match/);
    expect(verifier.problem({ ...e, headers: { ...e.headers, [HEADER_EVENT_TYPE]: 'refit.events.v1.ModelTrained' } })).toMatch(/is not refit.events.v1.ModelEvaluated/);
  });
  it('refuses an unknown service and an unknown subject', () => {
    expect(verifier.problem(event({ source: 'intruder', signedBy: 'evaluator', subject: 'refit.run.failed', type: EVENTS.runFailed.schema.typeName }))).toBe('no event key is known for intruder');
    expect(verifier.problem(event({ subject: 'refit.model.deleted', signedBy: 'evaluator' }))).toBe('no Refit service publishes on refit.model.deleted');
  });
  it('lets any service fail a run and a service dead-letter only its own events', () => {
    expect(verifier.problem(event({ subject: 'refit.run.failed', type: EVENTS.runFailed.schema.typeName, source: 'registry', signedBy: 'registry' }))).toBeUndefined();
    expect(verifier.problem(event({ subject: 'refit.dlq.registry', source: 'registry', signedBy: 'registry' }))).toBeUndefined();
    expect(verifier.problem(event({ subject: 'refit.dlq.trigger', source: 'registry', signedBy: 'registry' }))).toMatch(/registry may not publish dlq.trigger/);
  });
  it('leaves external events unsigned: other systems publish them', () => {
    expect(verifier.problem(event({ subject: 'refit.external.retrain', source: '', type: '' }))).toBeUndefined();
  });
});
