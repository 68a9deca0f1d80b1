import { describe, expect, it } from 'vitest';
import { auditProblems, compareAudits, subjectMatches, type NamespaceAudit } from './audit.js';

const clean: NamespaceAudit = {
  rows: { 'registry.models': 1, 'registry.ledger': 4, 'deployer.leases': 0 },
  events: { 'trainer ModelTrained': 1, 'trainer TrainingProgress': 12 },
  handled: { 'evaluator-model-trained ModelTrained': 1 },
  unpublished: {},
  queued: {},
  deadLetters: [],
  stream: { 'r.model.trained': 1 },
  duplicateStreamEvents: 0,
  consumers: [{ durable: 'evaluator-model-trained', filter: 'r.model.trained', inStream: 1, handled: 1, pending: 0, ackPending: 0 }],
};

describe('subjectMatches', () => {
  it('follows NATS wildcards', () => {
    expect(subjectMatches('r.model.trained', 'r.model.trained')).toBe(true);
    expect(subjectMatches('r.model.trained', 'r.model.evaluated')).toBe(false);
    expect(subjectMatches('r.*.trained', 'r.model.trained')).toBe(true);
    expect(subjectMatches('r.>', 'r.model.trained')).toBe(true);
    expect(subjectMatches('r.>', 'r')).toBe(false);
    expect(subjectMatches('r.model', 'r.model.trained')).toBe(false);
  });
});

describe('auditProblems', () => {
  it('finds nothing wrong with a settled namespace', () => {
    expect(auditProblems(clean)).toEqual([]);
  });

  it('names what is left, doubled, dead-lettered or not handled once', () => {
    const a: NamespaceAudit = {
      ...clean,
      unpublished: { trainer: 2 },
      queued: { 'registry.ledger_checkpoint_due': 1 },
      deadLetters: [{ service: 'evaluator', subject: 'r.dlq.evaluator', error: 'evaluator-model-trained: UnavailableError: registry down' }],
      duplicateStreamEvents: 1,
      consumers: [{ ...clean.consumers[0], inStream: 2, ackPending: 1 }],
    };
    expect(auditProblems(a)).toEqual([
      '2 event(s) left unpublished in the trainer outbox',
      '1 ledger entries not yet checkpointed to the object store (registry.ledger_checkpoint_due)',
      'dead letter from evaluator (evaluator-model-trained: UnavailableError: registry down)',
      '1 event(s) stored twice in the stream',
      'consumer evaluator-model-trained still has 0 undelivered and 1 unacknowledged event(s)',
      'consumer evaluator-model-trained recorded 1 handled event(s) for the 2 in the stream',
    ]);
    expect(auditProblems({ ...clean, deadLetters: a.deadLetters }, { expectDeadLetters: true })).toEqual([]);
  });

  it('lets a consumer of every subject handle only its own events, never more than the stream holds', () => {
    const wildcard = { durable: 'trigger-stage-events', filter: 'r.>', inStream: 15, handled: 6, pending: 0, ackPending: 0 };
    expect(auditProblems({ ...clean, consumers: [wildcard] })).toEqual([]);
    expect(auditProblems({ ...clean, consumers: [{ ...wildcard, handled: 16 }] })).toEqual(['consumer trigger-stage-events recorded 16 handled event(s) for the 15 in the stream']);
    // A narrower filter must still handle every event it matches.
    expect(auditProblems({ ...clean, consumers: [{ ...wildcard, durable: 'trigger-external', filter: 'r.external.>' }] })).toEqual([
      'consumer trigger-external recorded 6 handled event(s) for the 15 in the stream',
    ]);
  });
});

describe('compareAudits', () => {
  it('reports counts that differ from a clean run, leaving out those that depend on timing', () => {
    const got: NamespaceAudit = {
      ...clean,
      rows: { 'registry.models': 2, 'registry.ledger': 4, 'deployer.leases': 2 },
      events: { 'trainer ModelTrained': 1, 'trainer TrainingProgress': 40 },
      handled: { 'evaluator-model-trained ModelTrained': 1, 'registry-model-evaluated ModelEvaluated': 1 },
    };
    expect(compareAudits(clean, got)).toEqual(['rows of registry.models: 2, a clean run has 1', 'events handled by registry-model-evaluated ModelEvaluated: 1, a clean run has 0']);
  });
});
