/**
 * The facts behind an alert: the typed `refit.events.v1.AlertDetails` (one message per kind) from
 * the JSON document the trigger stores, sends in `details_json` and posts to webhooks.
 */
import { create } from '@bufbuild/protobuf';
import {
  AlertDetailsSchema,
  BatchQuarantinedAlertSchema,
  PolicyFiredAlertSchema,
  PromotionBlockedAlertSchema,
  RollbackAlertSchema,
  RunFailedAlertSchema,
  type AlertDetails,
} from './gen/refit/events/v1/alerts_pb.js';
import { asJson, isObject, messageFromDoc, parseStored } from './json-doc.js';
import { rolloutAnalysisFromJson } from './rollout-analysis.js';
import { triggerEvidenceFromJson, triggerThresholdsFromJson } from './trigger-evidence.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function caseOf(kind: string, doc: Record<string, unknown>): AlertDetails['kind'] | undefined {
  switch (kind) {
    case 'run-failed':
      return { case: 'runFailed', value: messageFromDoc(RunFailedAlertSchema, doc) };
    case 'batch-quarantined':
      return { case: 'batchQuarantined', value: messageFromDoc(BatchQuarantinedAlertSchema, doc) };
    case 'promotion-blocked':
      return { case: 'promotionBlocked', value: messageFromDoc(PromotionBlockedAlertSchema, doc) };
    case 'rollback': {
      // The analysis has a converter of its own (older triggers may hold something else there).
      const { analysis, ...rest } = doc;
      const value = messageFromDoc(RollbackAlertSchema, rest);
      value.analysis = rolloutAnalysisFromJson(analysis);
      return { case: 'rollback', value };
    }
    case 'drift-trigger':
    case 'performance-trigger':
      // The evidence's own converters: lenient per key, as the trigger decision's typed fields are.
      return {
        case: 'policyFired',
        value: create(PolicyFiredAlertSchema, { decisionId: str(doc.decisionId), policy: str(doc.policy), action: str(doc.action), measured: triggerEvidenceFromJson(doc.measured), thresholds: triggerThresholdsFromJson(doc.thresholds) }),
      };
    default:
      return undefined;
  }
}

/**
 * The typed facts of an alert of `kind` from its JSON document (the object the trigger stores, or
 * `details_json` parsed): the message's JSON names are the document's keys. Undefined for a kind
 * it does not know or a document that does not fit its kind's message, never an error: the alert
 * is raised all the same, and its JSON has the facts.
 */
export function alertDetailsFromJson(kind: string, details: unknown): AlertDetails | undefined {
  const doc = asJson(details);
  if (!isObject(doc)) return undefined;
  try {
    const c = caseOf(kind, doc);
    return c && create(AlertDetailsSchema, { kind: c });
  } catch {
    return undefined;
  }
}

/** The typed facts of an `alert.raised`: the typed field, else (a trigger older than it) from its JSON. */
export function alertDetailsOf(e: { kind: string; details?: AlertDetails; detailsJson: string }): AlertDetails | undefined {
  return e.details ?? alertDetailsFromJson(e.kind, parseStored(e.detailsJson));
}
