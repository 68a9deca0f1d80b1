import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type RunningConsole } from './index.js';

// The console's own HTTP behaviour, with no service behind it (every address refuses connections):
// assets, limits, CSRF and error pages answer without reaching a service.
describe('the console server on its own', () => {
  let c: RunningConsole;
  const dead = '127.0.0.1:1';
  beforeAll(async () => {
    const addrs = Object.fromEntries(['TRIGGER', 'INGESTION', 'FEATURE', 'TRAINER', 'EVALUATOR', 'REGISTRY', 'DEPLOYER'].map((s) => [`REFIT_${s}_ADDR`, dead]));
    // No CA: a development console, where everyone is admin and no sign-in is needed.
    c = await startConsole({ env: addrs, config: { port: 0, logLevel: 'silent', grpcTimeoutMs: 2000, ca: undefined } });
  });
  afterAll(async () => c?.close());

  it('serves uPlot and a health check', async () => {
    const js = await fetch(`${c.url}/assets/uplot.iife.min.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${c.url}/assets/uplot.min.css`)).headers.get('content-type')).toMatch(/css/);
    expect(await (await fetch(`${c.url}/healthz`)).json()).toEqual({ status: 'ok' });
  });

  it('answers an unknown page, a wrong method and an over-long address with clear error pages and security headers', async () => {
    const missing = await fetch(`${c.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-frame-options')).toBe('DENY');
    expect(missing.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await missing.text()).toContain('data-testid="error"');
    expect((await fetch(`${c.url}/pipelines/x/trigger`)).status).toBe(405);
    expect((await fetch(`${c.url}/pipelines/${'a'.repeat(3000)}`)).status).toBe(414);
  });

  it('refuses a cross-site POST, an oversized form and a non-form body before calling any service', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await fetch(`${c.url}/pipelines/p/trigger`, { method: 'POST', headers: { ...form, origin: 'https://evil.example' }, body: 'reason=x' })).status).toBe(403);
    expect((await fetch(`${c.url}/pipelines/p/trigger`, { method: 'POST', headers: { ...form, origin: c.url }, body: `reason=${'x'.repeat(20_000)}` })).status).toBe(413);
    expect((await fetch(`${c.url}/pipelines/p/trigger`, { method: 'POST', headers: { 'content-type': 'application/json', origin: c.url }, body: '{}' })).status).toBe(415);
  });

  it('says which service is unavailable instead of failing blank', async () => {
    const r = await fetch(`${c.url}/`);
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('Service unavailable');
    const api = await fetch(`${c.url}/api/pipelines`);
    expect(api.status).toBe(503);
    expect(await api.json()).toHaveProperty('error');
  });
});
