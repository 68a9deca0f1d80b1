/**
 * @refit/modeling: the computation shared by the feature, trainer, evaluator and deployer services:
 * labels, the fitted feature transform (one artifact for training and serving), and the model.
 */
export type { DatePart, FeatureSpec, ImputeSpec, LabelSpec, ModelSpec, RawRow } from './spec.js';
export { ModelingInputError } from './errors.js';
export type { ModelingInputDetails } from './errors.js';
export { labelOf, labelsOf, targetOf } from './label.js';
export { dateMs } from './values.js';
export { OTHER_CATEGORY, applyTransform, declaresImputation, fitTransform, parseTransform, serializeTransform } from './transform.js';
export type { FittedTransform, OneHotFeature, PassthroughFeature, StandardizeFeature, TransformedRows } from './transform.js';
export type { BucketizeFeature, DatePartsFeature, FittedFeature, HashFeature, Log1pFeature, MinMaxFeature } from './transform.js';
export { currentBackend, initBackend } from './backend.js';
export type { BackendPreference } from './backend.js';
export { architectureOf, resolveModelSpec } from './model-spec.js';
export type { ResolvedModelSpec } from './model-spec.js';
export { loadModel, solverFor, trainModel } from './model.js';
export { newtonFits } from './newton.js';
export type { EpochLog, StopReason, TrainInput, TrainResult, TrainedModel } from './model.js';
export { TrainingDivergedError } from './training-errors.js';
export { searchModel } from './search.js';
export type { SearchInput, SearchProgress, SearchResult, SearchSpec, TrialRecord, TrialStatus } from './search.js';
export { TUNABLE, gridOf, sampleSpace } from './search-space.js';
export type { ParamDomain, ParamValue, SearchSpace, TrialParams, TunableField } from './search-space.js';
export { decodeMatrix, encodeMatrix } from './matrix.js';
export type { LabelledMatrix } from './matrix.js';
export { rowsFromJsonl } from './rows.js';
export { parseBackendChoice } from './backend-choice.js';
export { OnlineLearner } from './online-learner.js';
export type { OnlineOptions, OnlineUpdate } from './online-learner.js';
