/** `/`, `/pipelines/<name>` and their JSON, and the trigger action. */
import { pipelineFragments, pipelinesFragments, renderPipelinePage, renderPipelinesPage } from '@refit/views';
import { readForm } from './http.js';
import { RUNS_MAX, RUNS_PAGE, loadPipeline, loadPipelines } from './load.js';
import { fragmentsJson, route, type Route } from './routes.js';
import { renderNotice } from './notice.js';
import { intParam, pipelineName, reasonField } from './validate.js';

const NAME = '([^/]+)';

/** The pipeline routes. */
export const pipelineRoutes: Route[] = [
  route('GET', /^\/$/, async (c) => ({ html: renderPipelinesPage(c.page, await loadPipelines(c.api, c.call)) })),
  route('GET', /^\/api\/pipelines$/, async (c) => ({ json: fragmentsJson(pipelinesFragments(c.page, await loadPipelines(c.api, c.call)), false) })),
  route('GET', new RegExp(`^/pipelines/${NAME}$`), async (c) => {
    const d = await loadPipeline(c.api, c.call, pipelineName(c.params[0]), intParam(c.url.searchParams, 'limit', RUNS_PAGE, 1, RUNS_MAX), true);
    return { html: renderPipelinePage(c.page, d) };
  }),
  route('GET', new RegExp(`^/api/pipelines/${NAME}$`), async (c) => {
    const d = await loadPipeline(c.api, c.call, pipelineName(c.params[0]), intParam(c.url.searchParams, 'limit', RUNS_PAGE, 1, RUNS_MAX));
    return { json: fragmentsJson(pipelineFragments(c.page, d), false) };
  }),
  route('POST', new RegExp(`^/pipelines/${NAME}/trigger$`), async (c) => {
    const pipeline = pipelineName(c.params[0]);
    const reason = reasonField(await readForm(c.req));
    const r = await c.api.trigger.triggerRun({ pipeline, reason }, c.call);
    if (r.run?.runId && r.action !== 'suppress') return { redirect: `/runs/${encodeURIComponent(r.run.runId)}` };
    return renderNotice(c, 'No run started', r.message, `/pipelines/${encodeURIComponent(pipeline)}`);
  }),
];
