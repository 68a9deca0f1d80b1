import { create } from '@bufbuild/protobuf';
import { EvaluationReportSchema, evaluationDetailsFromJson, LedgerEntrySchema, ModelVersionSchema, Verdict, VerifyLedgerResponseSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { formatLedger, formatLineage, formatReport, formatVerify } from './registry-format.js';

const entry = (seq: number, kind: string, summary: string) =>
  create(LedgerEntrySchema, { pipeline: 'p', seq: BigInt(seq), kind, runId: 'r-1', actor: 'evaluator', summary, recordedAt: '2026-01-01T00:00:00.000Z', hash: 'ab'.repeat(32) });

describe('registry output', () => {
  it('prints the verdict, every gate sentence, both models and per-group numbers of a report', () => {
    // The stored report document (the evaluator's JSON), as a typed message or, from an older evaluator, as report_json only.
    const document = {
      runId: 'r-1',
      pipeline: 'wage',
      verdict: 'fail',
      rowsTest: 214,
      gates: [{ gate: 'fairness:demographicParity:gender', outcome: 'fail', passed: false, reason: 'demographic parity difference by gender 0.3335 exceeds the limit 0.1500' }],
      candidate: { metrics: { accuracy: 0.7, auc: 0.76 } },
      champion: { version: 'v1', metrics: { accuracy: 0.68, auc: 0.75 } },
      fairness: [
        {
          sensitive: 'race',
          candidate: {
            demographicParityDifference: 0.1,
            equalizedOddsDifference: null,
            groups: [{ group: 'hispanic', n: 11, selectionRate: 0.2, tpr: null, fpr: 0.1, belowMinSize: true }],
          },
        },
      ],
    };
    const summary = { runId: 'r-1', pipeline: 'wage', verdict: Verdict.FAIL, rowsTest: 214n };
    const text = formatReport(create(EvaluationReportSchema, { ...summary, details: evaluationDetailsFromJson(document) }));
    expect(formatReport(create(EvaluationReportSchema, { ...summary, reportJson: JSON.stringify(document) }))).toBe(text);
    expect(text.split('\n')).toEqual([
      'run r-1 (wage): FAIL on 214 test rows, champion v1',
      'gates:',
      '  - fail: demographic parity difference by gender 0.3335 exceeds the limit 0.1500',
      'metrics (same test rows):',
      '                         candidate   champion v1',
      '  accuracy                  0.7000        0.6800',
      '  auc                       0.7600        0.7500',
      'fairness by race: demographic parity difference 0.1000, equalized odds difference —',
      '    hispanic         n    11  selection 0.2000  tpr —  fpr 0.1000  (below the minimum group size: not judged)',
    ]);
  });

  it('prints the ledger, its verification and a lineage', () => {
    expect(formatLedger([])).toBe('no decisions recorded yet');
    expect(formatLedger([entry(1, 'gate-verdict', 'run r-1: the gates say pass')])).toBe(
      `#1    2026-01-01T00:00:00.000Z  gate-verdict     evaluator                    run r-1: the gates say pass  [abababababab]`,
    );
    expect(formatVerify('p', create(VerifyLedgerResponseSchema, { ok: false, entries: 9n, firstBadSeq: 4n, problem: 'entry 4: edited' }))).toBe('ledger of p: BROKEN at entry 4 of 9: entry 4: edited');
    const missing = 'entries 7–9 are missing: the checkpoint taken at 2026-12-06T10:00:00.000Z records entry 9 (hash abababababab…) but the table ends at entry 6';
    expect(formatVerify('p', create(VerifyLedgerResponseSchema, { ok: false, entries: 6n, firstBadSeq: 7n, anchored: true, checkpointSeq: 9n, missingFrom: 7n, missingTo: 9n, problem: missing }))).toBe(`ledger of p: BROKEN: ${missing}`);
    expect(formatVerify('p', create(VerifyLedgerResponseSchema, { ok: true, entries: 9n, headHash: 'ab', anchored: true, checkpointSeq: 9n, checkpointRecordedAt: '2026-12-06T10:00:00.000Z' })).split('\n')).toEqual([
      'ledger of p: intact, 9 entries, head ab',
      '  anchored: the MACs check, and the table reaches the checkpoint of entry 9 (taken at 2026-12-06T10:00:00.000Z)',
    ]);
    expect(formatVerify('p', create(VerifyLedgerResponseSchema, { ok: true, entries: 2n, headHash: 'ab', note: 'anchoring is off: set REFIT_LEDGER_KEY' })).split('\n')).toEqual([
      'ledger of p: intact, 2 entries, head ab',
      '  note: anchoring is off: set REFIT_LEDGER_KEY',
    ]);
    const m = create(ModelVersionSchema, { pipeline: 'p', version: 'v2', runId: 'r-1', aliases: ['champion'], triggerKind: 'drift', triggerReason: 'psi 0.6', promotedBy: 'evaluation gates of run r-1', lineage: { snapshotSha256: 'f'.repeat(64), seed: 42n } });
    const text = formatLineage(m, [entry(2, 'promotion', 'champion → v2')], [{ batchId: 'b-1', sha256: 'ab', status: 'accepted', rowsAccepted: 730, rowsQuarantined: 1, problems: [] }]);
    expect(text).toContain('  validation         batch b-1: accepted, 730 rows accepted, 1 quarantined');
    expect(text).toContain('  trigger decision   drift: psi 0.6');
    expect(text).toContain(`  data snapshot      sha256 ${'f'.repeat(64)}`);
    expect(text).toContain('  promoted by        evaluation gates of run r-1');
    expect(text.split('\n').at(-1)).toBe('  #2 2026-01-01T00:00:00.000Z  promotion        champion → v2');
  });
});
