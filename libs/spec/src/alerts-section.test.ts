import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpec } from './parse.js';
import { specProblems } from './spec-problems.js';

const rain = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples/weather-rain.yaml'), 'utf8');

describe('alerts section', () => {
  it('defaults to alerts on NATS only, a 5% quarantine threshold and eight attempts', () => {
    expect(parseSpec(rain).alerts).toEqual({ quarantineShare: 0.05, webhooks: [], retry: { maxAttempts: 8, backoffMs: 1000, maxBackoffMs: 300_000, timeoutMs: 5000 } });
  });

  it('reads webhooks with the kinds they want and the retry settings', () => {
    const spec = parseSpec(`${rain}
alerts:
  quarantineShare: 0.2
  webhooks:
    - { name: ops, url: 'https://hooks.example.com/refit', secretEnv: REFIT_WEBHOOK_OPS, kinds: [run-failed, rollback] }
    - { name: all, url: 'http://127.0.0.1:9000/', secretEnv: REFIT_WEBHOOK_ALL }
  retry: { maxAttempts: 3, backoffMs: 50 }
`);
    expect(spec.alerts.quarantineShare).toBe(0.2);
    expect(spec.alerts.webhooks).toEqual([
      { name: 'ops', url: 'https://hooks.example.com/refit', secretEnv: 'REFIT_WEBHOOK_OPS', kinds: ['run-failed', 'rollback'] },
      { name: 'all', url: 'http://127.0.0.1:9000/', secretEnv: 'REFIT_WEBHOOK_ALL' },
    ]);
    expect(spec.alerts.retry).toEqual({ maxAttempts: 3, backoffMs: 50, maxBackoffMs: 300_000, timeoutMs: 5000 });
  });

  it('names each bad field: a secret outside REFIT_WEBHOOK_, a bad URL or kind, a duplicate name, a share above 1', () => {
    const problems = specProblems(`${rain}
alerts:
  quarantineShare: 1.5
  webhooks:
    - { name: ops, url: 'ftp://example.com', secretEnv: REFIT_PG_URL }
    - { name: ops, url: 'http://example.com', secretEnv: REFIT_WEBHOOK_X, kinds: [paged] }
  retry: { backoffMs: 5000, maxBackoffMs: 1000 }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alerts\.quarantineShare: /),
        'alerts.webhooks[0].url: must be an http(s) URL',
        expect.stringMatching(/^alerts\.webhooks\[0\]\.secretEnv: must name an environment variable of the trigger service starting with REFIT_WEBHOOK_/),
        expect.stringMatching(/^alerts\.webhooks\[1\]\.kinds\[0\]: /),
        'alerts.retry.maxBackoffMs: must be at least backoffMs (5000)',
      ]),
    );
    expect(specProblems(`${rain}\nalerts:\n  webhooks:\n    - { name: a, url: 'http://x.test', secretEnv: REFIT_WEBHOOK_A }\n    - { name: a, url: 'http://y.test', secretEnv: REFIT_WEBHOOK_A }\n`)).toEqual([
      "alerts.webhooks[1].name: duplicate webhook 'a'",
    ]);
  });
});
