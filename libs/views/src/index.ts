/**
 * Refit's web views: pure functions from contract messages (or small view models) to HTML, with
 * every interpolation escaped; charts drawn by uPlot from JSON embedded in the page.
 */
export { SafeHtml, escapeHtml, html, jsonBlock, raw, safeJson, type HtmlValue } from './html.js';
export { READ_ONLY, type AssetMode, type PageContext, type Permissions, type Viewer } from './page-context.js';
export { layout, pipelineNav, type LayoutOptions } from './layout.js';
export { chart, type ChartSeries, type ChartSpec } from './charts.js';
export { REASON_MAX, actionForm, runStatusWord } from './components.js';
export { curvesSection, evaluationSection, gateSentences } from './evaluation.js';
export { binPositions, driftReportSection, driftViewFromReport, testidPart, type ColumnDriftView, type DriftHistogram, type DriftView } from './drift.js';
export { latestPerPolicy, pipelinesFragments, renderPipelinesPage, type PipelineSummary } from './pipelines-page.js';
export { pipelineFragments, renderPipelinePage, type PipelineDetail } from './pipeline-page.js';
export { STAGES, renderRunPage, runFragments, type RunDetail } from './run-page.js';
export { renderRolloutPage, rolloutFragments, type RolloutDetail } from './rollout-page.js';
export { renderModelsPage, type ModelsDetail } from './models-page.js';
export { renderDriftPage, type DriftDetail } from './drift-page.js';
export { renderRunReport, type RunReport } from './report-page.js';
export { renderErrorPage, renderLoginPage } from './simple-pages.js';
export { loadUplotAssets, type UplotAssets } from './assets.js';
export { CONSOLE_CSS } from './styles.js';
export { CLIENT_SCRIPT } from './client-script.js';
