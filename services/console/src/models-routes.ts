/** `/pipelines/<name>/models` (with ?verify=1), the alias action, and `/pipelines/<name>/drift`. */
import { renderDriftPage, renderModelsPage } from '@refit/views';
import { DRIFT_LIMIT, listDrift } from './drift-source.js';
import { readForm } from './http.js';
import { attempt, loadModels } from './load.js';
import { route, type Route } from './routes.js';
import { aliasFields, choiceParam, pipelineName, reasonField } from './validate.js';

const NAME = '([^/]+)';

/** The models, ledger and drift routes. */
export const modelsRoutes: Route[] = [
  route('GET', new RegExp(`^/pipelines/${NAME}/models$`), async (c) => {
    const verify = choiceParam(c.url.searchParams, 'verify', ['1', ''], '') === '1';
    return { html: renderModelsPage(c.page, await loadModels(c.api, c.call, pipelineName(c.params[0]), verify)) };
  }),
  route('POST', new RegExp(`^/pipelines/${NAME}/alias$`), async (c) => {
    const pipeline = pipelineName(c.params[0]);
    const form = await readForm(c.req);
    const reason = reasonField(form);
    const { alias, version } = aliasFields(form);
    await c.api.registry.setAlias({ pipeline, alias, version, reason }, c.call);
    return { redirect: `/pipelines/${encodeURIComponent(pipeline)}/models` };
  }),
  route('GET', new RegExp(`^/pipelines/${NAME}/drift$`), async (c) => {
    const pipeline = pipelineName(c.params[0]);
    const source = choiceParam(c.url.searchParams, 'source', ['training', 'live', ''], '');
    await c.api.trigger.getPipeline({ name: pipeline }, c.call);
    const problems: string[] = [];
    const reports = await attempt('drift reports', problems, () => listDrift(c.api, c.call, { pipeline, limit: DRIFT_LIMIT, source }));
    // Without reports (a feature service older than ListDrift, or none yet), the feature stage's
    // one-line drift summary of recent runs still tells the story.
    const featureNotes = reports?.length
      ? undefined
      : ((await attempt('runs', problems, () => c.api.trigger.listRuns({ pipeline, limit: DRIFT_LIMIT }, c.call)))?.runs ?? []).flatMap((r) => {
          const detail = r.stages.find((s) => s.stage === 'feature')?.detail;
          return detail ? [{ runId: r.runId, detail }] : [];
        });
    return { html: renderDriftPage(c.page, { pipeline, source, reports: reports ?? [], problems, featureNotes }) };
  }),
];
