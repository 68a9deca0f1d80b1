/**
 * @refit/ml — pure statistics for Refit: drift, model metrics, significance, sequential tests and fairness.
 * Every function validates its input and throws an {@link MlInputError} subclass with a message
 * naming the function, the argument and the index, rather than returning NaN.
 */
export { MlInputError, MlRangeError, MlTypeError } from './errors.js';
export { createRng, createResampler, mulberry32, randomInt } from './random.js';
export { sortedSample, isSortedSample, radixSortFloat64 } from './sort.js';
export type { SortedSample } from './sort.js';
export { quantileSorted } from './quantile.js';
export { accuracy, confusionMatrix, precision, recall, f1 } from './classification.js';
export type { Confusion, ThresholdOptions } from './classification.js';
export { rocAuc, averagePrecision } from './ranking.js';
export { calibrationCurve, precisionRecallCurve, rocCurve } from './curves.js';
export type { CalibrationCurve, CurveOptions, PrCurve, RocCurve } from './curves.js';
export { logLoss, brierScore, expectedCalibrationError } from './probabilistic.js';
export type { EceOptions } from './probabilistic.js';
export { mae, rmse, r2 } from './regression.js';
export { binaryMetrics } from './binary-metrics.js';
export type { BinaryMetrics, BinaryMetricsOptions } from './binary-metrics.js';
export { psi, psiCategorical, quantileEdges } from './psi.js';
export type { PsiOptions, PsiResult, CategoricalPsiResult } from './psi.js';
export { ksTwoSample, ksExactPValue, ksAsymptoticPValue } from './ks.js';
export type { KsOptions, KsResult } from './ks.js';
export { kolmogorovSf, kolmogorovLimitSf, smirnovSf } from './special/kolmogorov.js';
export { chiSquareSf, erfc, gammaP, gammaQ, logGamma, normalCdf, normalQuantile, normalSf } from './special/gamma.js';
export { chiSquareHomogeneity, chiSquareFromCounts, proportionZTest } from './categorical-tests.js';
export type { ChiSquareResult, ZTestResult } from './categorical-tests.js';
export { jensenShannonDistance, jensenShannonNumeric, jensenShannonCategorical, wasserstein, wassersteinNormalized } from './distance.js';
export { holm, benjaminiHochberg } from './multiple-testing.js';
export { chooseDriftTest, columnDrift, datasetDrift } from './column-drift.js';
export { driftHistogram } from './drift-histogram.js';
export type { DriftHistogram } from './drift-histogram.js';
export type { DriftTest, DriftColumn, ColumnDriftOptions, ColumnDriftResult, DatasetDriftOptions, DatasetDriftResult } from './column-drift.js';
export { binomialCdf } from './special/binomial.js';
export { mcnemar, mcnemarFromCounts } from './mcnemar.js';
export type { McNemarResult } from './mcnemar.js';
export { deLongTest } from './delong.js';
export type { DeLongResult } from './delong.js';
export { pairedBootstrap } from './bootstrap.js';
export type { BuiltinMetric, MetricFn, PairedBootstrapOptions, PairedBootstrapResult } from './bootstrap.js';
export { compareModels } from './decision.js';
export type { CompareModelsOptions, ModelComparison, ModelVerdict } from './decision.js';
export { sliceMetrics } from './slices.js';
export type { SliceMetrics } from './slices.js';
export { fairness } from './fairness.js';
export type { FairnessOptions, FairnessReport, GroupRates, Disparities, Interval } from './fairness.js';
export { consistency, consistencyOf, nearestNeighbours } from './consistency.js';
export type { ConsistencyOptions, ConsistencyReport, GroupConsistency, NeighbourOptions, Neighbours } from './consistency.js';
export { bayesThreshold, costCurve, decisionsAt, DEFAULT_THRESHOLD, minCostThreshold, storedThreshold, totalCost } from './cost.js';
export type { CostCurve, CostMatrix, MinCost } from './cost.js';
export { bernoulliStats, EMPTY_MEAN_STATS, meanStats, meanStatsFromSums, mergeMeanStats, sampleVariance } from './mean-stats.js';
export type { MeanStats } from './mean-stats.js';
export { logNormalCdf, msprt, normalMixtureBestRho, normalMixtureBound, normalMixtureLogE } from './normal-mixture.js';
export type { MsprtInput, NormalMixtureOptions } from './normal-mixture.js';
export { alwaysValidHalfWidth, createSequentialState, oneSampleSequential, sequentialLook, twoSampleSequential } from './sequential.js';
export type { SequentialResult, SequentialState, SequentialTestOptions } from './sequential.js';
export { binaryRowSums } from './row-sums.js';
export type { BinaryRowSums, RowSums } from './row-sums.js';
