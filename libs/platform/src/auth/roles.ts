/**
 * Who may call what. People and applications hold roles; Refit's own services hold a service
 * identity with the reads every service needs plus the few calls their stage makes. One table for
 * every method of every service, so a method nobody listed is refused (fail closed), and a test
 * checks the table covers every RPC in the contracts.
 */

/** The roles a person or an application can hold. */
export const ROLES = ['viewer', 'predictor', 'operator', 'admin'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** What each role includes: an admin may do everything, an operator everything a viewer may. */
const INCLUDES: Readonly<Record<Role, readonly Role[]>> = Object.freeze({
  viewer: ['viewer'],
  predictor: ['predictor'],
  operator: ['operator', 'viewer'],
  admin: ['admin', 'operator', 'viewer', 'predictor'],
});

/** What one role is for, for error messages and `refit auth` help. */
export const ROLE_PURPOSE: Readonly<Record<Role, string>> = Object.freeze({
  viewer: 'reads: pipelines, runs, models, reports, ledger',
  predictor: 'Predict and SendFeedback',
  operator: 'push and import data, trigger and cancel runs (and every read)',
  admin: 'apply pipelines, move aliases, promote or abort rollouts, record decisions (and everything else)',
});

const svc = (pkg: string, service: string) => (method: string) => `${pkg}.${service}/${method}`;
const trigger = svc('refit.trigger.v1', 'TriggerService');
const ingestion = svc('refit.ingestion.v1', 'IngestionService');
const feature = svc('refit.feature.v1', 'FeatureService');
const trainer = svc('refit.trainer.v1', 'TrainerService');
const evaluator = svc('refit.evaluator.v1', 'EvaluatorService');
const registry = svc('refit.registry.v1', 'RegistryService');
const deployer = svc('refit.deployer.v1', 'DeployerService');

/** The role each method needs, by `<package>.<Service>/<Method>`. */
export const METHOD_ROLES: Readonly<Record<string, Role>> = Object.freeze({
  [trigger('ApplyPipeline')]: 'admin',
  [trigger('GetPipeline')]: 'viewer',
  [trigger('ListPipelines')]: 'viewer',
  [trigger('TriggerRun')]: 'operator',
  [trigger('GetRun')]: 'viewer',
  [trigger('ListRuns')]: 'viewer',
  [trigger('ExplainTriggers')]: 'viewer',
  [trigger('CancelRun')]: 'operator',
  [trigger('ListAlerts')]: 'viewer',
  [ingestion('PushData')]: 'operator',
  [ingestion('ListBatches')]: 'viewer',
  [ingestion('ListQuarantine')]: 'viewer',
  [ingestion('ImportData')]: 'operator',
  [ingestion('GetSchema')]: 'viewer',
  [ingestion('GetStreamStats')]: 'viewer',
  [feature('GetTransform')]: 'viewer',
  [feature('GetStats')]: 'viewer',
  [feature('ListDrift')]: 'viewer',
  [trainer('GetJob')]: 'viewer',
  [trainer('ListTrials')]: 'viewer',
  [trainer('GetProgress')]: 'viewer',
  [trainer('GetLearner')]: 'viewer',
  [evaluator('GetReport')]: 'viewer',
  [registry('GetModel')]: 'viewer',
  [registry('ListModels')]: 'viewer',
  [registry('GetAlias')]: 'viewer',
  [registry('SetAlias')]: 'admin',
  [registry('ListLedger')]: 'viewer',
  [registry('VerifyLedger')]: 'viewer',
  [registry('RecordDecision')]: 'admin',
  [deployer('Predict')]: 'predictor',
  [deployer('GetDeployment')]: 'viewer',
  [deployer('SendFeedback')]: 'predictor',
  [deployer('GetRollout')]: 'viewer',
  [deployer('ListWindows')]: 'viewer',
  [deployer('PromoteRollout')]: 'admin',
  [deployer('AbortRollout')]: 'admin',
  // Raw rows and labels are data: who may push data may read them back.
  [deployer('ListFeedbackRows')]: 'operator',
  [deployer('GetPredictedRows')]: 'operator',
});

/**
 * Besides every `viewer` method, the calls a Refit service makes as part of its stage: the
 * deployer ends a rollout by moving the champion alias and records a rollback in the ledger; the
 * ingestion service reads labeled predictions back as training rows, and the rows of predictions
 * that stream labels name.
 * Nothing else: a service identity cannot apply a pipeline, trigger a run or predict.
 */
export const SERVICE_CALLS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  deployer: [registry('SetAlias'), registry('RecordDecision')],
  // Feedback becomes training data (data.include: [feedback]); a stream label named by a prediction
  // id joins the row that was scored (data.source.stream).
  ingestion: [deployer('ListFeedbackRows'), deployer('GetPredictedRows')],
});

/** True when a holder of `roles` may do what `needed` allows. */
export function rolesAllow(roles: readonly Role[], needed: Role): boolean {
  return roles.some((r) => INCLUDES[r].includes(needed));
}

/** True for a name in {@link ROLES}. */
export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);
