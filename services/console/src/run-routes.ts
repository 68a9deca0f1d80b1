/** `/runs/<runId>`, its JSON, and the cancel action. */
import { RunStatus } from '@refit/contracts';
import { renderRunPage, runFragments } from '@refit/views';
import { readForm } from './http.js';
import { loadRun } from './load.js';
import { fragmentsJson, route, type Route } from './routes.js';
import { reasonField, runId } from './validate.js';

const ID = '([^/]+)';

/** The run routes. */
export const runRoutes: Route[] = [
  route('GET', new RegExp(`^/runs/${ID}$`), async (c) => ({ html: renderRunPage(c.page, await loadRun(c.api, c.call, runId(c.params[0]))) })),
  route('GET', new RegExp(`^/api/runs/${ID}$`), async (c) => {
    const d = await loadRun(c.api, c.call, runId(c.params[0]));
    return { json: fragmentsJson(runFragments(c.page, d), d.run.status !== RunStatus.RUNNING) };
  }),
  route('POST', new RegExp(`^/runs/${ID}/cancel$`), async (c) => {
    const id = runId(c.params[0]);
    const reason = reasonField(await readForm(c.req));
    await c.api.trigger.cancelRun({ runId: id, reason }, c.call);
    return { redirect: `/runs/${encodeURIComponent(id)}` };
  }),
];
