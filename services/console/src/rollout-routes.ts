/** `/pipelines/<name>/rollout`, its JSON, and the promote and abort actions. */
import { renderRolloutPage, rolloutFragments } from '@refit/views';
import { readForm } from './http.js';
import { loadRollout } from './load.js';
import { fragmentsJson, route, type Route } from './routes.js';
import { pipelineName, reasonField } from './validate.js';

const NAME = '([^/]+)';

/** The rollout routes. */
export const rolloutRoutes: Route[] = [
  route('GET', new RegExp(`^/pipelines/${NAME}/rollout$`), async (c) => ({ html: renderRolloutPage(c.page, await loadRollout(c.api, c.call, pipelineName(c.params[0]))) })),
  route('GET', new RegExp(`^/api/pipelines/${NAME}/rollout$`), async (c) => {
    const d = await loadRollout(c.api, c.call, pipelineName(c.params[0]));
    return { json: fragmentsJson(rolloutFragments(c.page, d), false) };
  }),
  route('POST', new RegExp(`^/pipelines/${NAME}/rollout/(promote|abort)$`), async (c) => {
    const pipeline = pipelineName(c.params[0]);
    const reason = reasonField(await readForm(c.req));
    if (c.params[1] === 'promote') await c.api.deployer.promoteRollout({ pipeline, reason }, c.call);
    else await c.api.deployer.abortRollout({ pipeline, reason }, c.call);
    return { redirect: `/pipelines/${encodeURIComponent(pipeline)}/rollout` };
  }),
];
