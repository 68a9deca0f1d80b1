import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TriggerService } from '@refit/contracts';
import { createClient, EVENTS, isInvalidInput, withTransaction, type ServiceRuntime } from '@refit/platform';
import { createTestEnv, serviceEnv, startTestRuntime, waitFor, type TestEnv } from '@refit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startTriggerService, type TriggerDeps } from './service.js';

const migrations = fileURLToPath(new URL('./migrations', import.meta.url));
const base = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');

/** A spec named `name` whose one webhook, `hook`, gets every alert at `url`. */
const specWith = (name: string, url: string) =>
  base.replace('name: weather-rain', `name: ${name}`).replace(/triggers:\n(\s+- .*\n?)+/, `triggers:
  - { kind: manual }
alerts:
  webhooks:
    - { name: hook, url: '${url}', secretEnv: REFIT_WEBHOOK_TEST }
  retry: { maxAttempts: 3, backoffMs: 100, maxBackoffMs: 200, timeoutMs: 1000 }
`);

/** A receiver on 127.0.0.1 that records the path of every request and answers 200. */
async function startReceiver(): Promise<{ server: Server; port: number; got: string[] }> {
  const got: string[] = [];
  const server = createServer((req, res) => {
    got.push(req.url ?? '');
    req.resume().on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, got };
}

describe('webhooks reach only public addresses unless the operator allows more', () => {
  let env: TestEnv;
  let rt: ServiceRuntime | undefined;
  let client: ReturnType<typeof createClient<typeof TriggerService>> | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  // The service's resolver, for the host names of the `.test` domain (RFC 2606: never in real DNS).
  const names = new Map<string, string>();
  const resolveHost: NonNullable<TriggerDeps['resolveHost']> = async (host) => {
    const address = names.get(host);
    if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };

  /** (Re)starts the trigger service on the same schema and stream with this configuration. */
  const restart = async (extra: Record<string, string>, deps: TriggerDeps = {}) => {
    client?.close();
    await rt?.close();
    const config = loadConfig(serviceEnv(env.env, { REFIT_ALERT_POLL_MS: '50', REFIT_WEBHOOK_TEST: 'whsec-ssrf', ...extra }));
    rt = await startTestRuntime(config, migrations);
    await startTriggerService(rt, config, deps);
    client = createClient(TriggerService, rt.server?.address ?? '');
    return client;
  };
  /** Raises a `batch-quarantined` alert for `pipeline` and waits until its delivery is settled. */
  const alertAndSettle = async (pipeline: string, batchId: string) => {
    await withTransaction(rt!.pool, (tx) => rt!.publish(tx, EVENTS.dataRejected, { pipeline, batchId, rowsTotal: 10n, rowsQuarantined: 10n, problems: ['empty file'] }));
    rt!.relay.kick();
    return waitFor(
      async () => {
        const alert = (await client!.listAlerts({ pipeline, limit: 50 })).alerts.find((a) => a.summary.includes(batchId));
        const d = alert?.deliveries.find((x) => x.webhook === 'hook');
        return d && d.status !== 'pending' ? d : undefined;
      },
      { timeoutMs: 10_000, what: `the delivery of ${batchId}` },
    );
  };

  beforeAll(async () => {
    env = await createTestEnv({ name: 'webhook-address' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    client?.close();
    await rt?.close();
    await new Promise((resolve) => receiver?.server.close(resolve));
    await env?.cleanup();
  });

  it('refuses a spec whose webhook reaches loopback, cloud metadata, a private network or localhost, naming the field', async () => {
    const c = await restart({});
    const refused: Record<string, string> = {
      'http://127.0.0.1:9/x': 'host 127.0.0.1 resolves to 127.0.0.1, a loopback address',
      'http://169.254.169.254/latest/meta-data/': 'host 169.254.169.254 resolves to 169.254.169.254, a link-local address',
      'http://[::1]/': 'host ::1 resolves to ::1, a loopback address',
      'http://10.0.0.1/': 'host 10.0.0.1 resolves to 10.0.0.1, a private address (RFC 1918)',
      'http://[::ffff:169.254.169.254]/': 'host ::ffff:a9fe:a9fe resolves to ::ffff:a9fe:a9fe, a link-local address',
      'http://localhost/': 'host localhost resolves to ',
    };
    for (const [url, why] of Object.entries(refused)) {
      const err = await c.applyPipeline({ specYaml: specWith('ssrf', url) }).catch((e: unknown) => e);
      expect(isInvalidInput(err), url).toBe(true);
      expect((err as Error).message, url).toContain(`alerts.webhooks[0].url: ${why}`);
      expect((err as Error).message, url).toContain('webhooks may only reach public addresses unless the operator allows it with REFIT_ALERT_WEBHOOK_ALLOW');
    }
    expect((await c.listPipelines({})).pipelines).toEqual([]);
  });

  it('a local receiver is refused, and accepted and delivered to once the operator sets REFIT_ALERT_WEBHOOK_ALLOW=127.0.0.1/32', async () => {
    const spec = specWith('local', `http://127.0.0.1:${receiver.port}/local`);
    expect(isInvalidInput(await (await restart({})).applyPipeline({ specYaml: spec }).catch((e: unknown) => e))).toBe(true);
    const c = await restart({ REFIT_ALERT_WEBHOOK_ALLOW: '127.0.0.1/32' });
    await c.applyPipeline({ specYaml: spec });
    const d = await alertAndSettle('local', 'b-allowed');
    expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastHttpStatus: 200 });
    expect(receiver.got).toEqual(['/local']);
  });

  it('once the operator removes the allow-list again, an alert is not sent to it and its one attempt records why', async () => {
    await restart({});
    const d = await alertAndSettle('local', 'b-no-longer-allowed');
    expect(d).toMatchObject({ status: 'failed', attempts: 1, lastHttpStatus: 0 });
    expect(d.lastError).toBe(
      'not sent: host 127.0.0.1 resolves to 127.0.0.1, a loopback address; webhooks may only reach public addresses unless the operator allows it with REFIT_ALERT_WEBHOOK_ALLOW',
    );
    expect(receiver.got).toEqual(['/local']);
  });

  it('checks a host name again at delivery: resolved to a public address at apply and to loopback since, it is not reached', async () => {
    const c = await restart({}, { resolveHost });
    // A host that does not resolve is refused at apply: it could never be delivered to.
    const err = await c.applyPipeline({ specYaml: specWith('rebind', `http://hooks.rebind.test:${receiver.port}/rebind`) }).catch((e: unknown) => e);
    expect(isInvalidInput(err)).toBe(true);
    expect((err as Error).message).toContain('alerts.webhooks[0].url: host hooks.rebind.test does not resolve (ENOTFOUND)');
    names.set('hooks.rebind.test', '93.184.215.14');
    await c.applyPipeline({ specYaml: specWith('rebind', `http://hooks.rebind.test:${receiver.port}/rebind`) });
    names.set('hooks.rebind.test', '127.0.0.1');
    const d = await alertAndSettle('rebind', 'b-rebind');
    expect(d).toMatchObject({ status: 'failed', attempts: 1 });
    expect(d.lastError).toContain('not sent: host hooks.rebind.test resolves to 127.0.0.1, a loopback address');
    expect(receiver.got).not.toContain('/rebind');
  });

  it('connects to the address it checked: an allowed name resolved by the service reaches the receiver', async () => {
    const c = await restart({ REFIT_ALERT_WEBHOOK_ALLOW: '127.0.0.1/32' }, { resolveHost });
    names.set('hooks.local.test', '127.0.0.1');
    await c.applyPipeline({ specYaml: specWith('by-name', `http://hooks.local.test:${receiver.port}/by-name`) });
    const d = await alertAndSettle('by-name', 'b-by-name');
    expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastHttpStatus: 200 });
    expect(receiver.got).toContain('/by-name');
  });
});
