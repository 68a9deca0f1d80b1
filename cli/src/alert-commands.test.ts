import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { AlertSchema } from '@refit/contracts';
import { describe, expect, it } from 'vitest';
import { formatAlerts } from './alert-commands.js';

describe('refit alerts list', () => {
  it('says when, what, which run, and how each webhook delivery stands', () => {
    const a = create(AlertSchema, {
      alertId: 'a-1',
      pipeline: 'weather-rain',
      kind: 'run-failed',
      runId: 'r-7',
      summary: 'run r-7 of weather-rain failed at trainer: loss became NaN',
      createdAt: timestampFromMs(Date.UTC(2026, 10, 26, 12)),
      deliveries: [
        { webhook: 'ops', status: 'delivered', attempts: 1, maxAttempts: 8 },
        { webhook: 'pager', status: 'pending', attempts: 2, maxAttempts: 8, lastError: 'HTTP 500', nextAttemptAt: timestampFromMs(Date.UTC(2026, 10, 26, 12, 0, 3)) },
        { webhook: 'old', status: 'failed', attempts: 8, maxAttempts: 8, lastError: 'ECONNREFUSED' },
      ],
    });
    expect(formatAlerts('weather-rain', [a])).toBe(
      [
        'alerts of weather-rain (newest first):',
        '  2026-11-26T12:00:00.000Z  run-failed          r-7  run r-7 of weather-rain failed at trainer: loss became NaN',
        '    webhooks: ops delivered (1 attempt); pager pending (2/8, HTTP 500, next 2026-11-26T12:00:03.000Z); old failed (8/8, ECONNREFUSED)',
      ].join('\n'),
    );
    expect(formatAlerts('weather-rain', [])).toBe('no alerts for weather-rain');
  });
});
