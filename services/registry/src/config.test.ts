import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

// Everything else production insists on, so that only the ledger key is in question.
const PRODUCTION = {
  REFIT_ENV: 'production',
  REFIT_S3_ACCESS_KEY: 'registry',
  REFIT_S3_SECRET_KEY: 'a-real-secret',
  REFIT_TLS_DIR: '/run/secrets/tls',
  REFIT_EVENT_KEY: '/run/secrets/events/registry.pem',
  REFIT_EVENT_KEYS_DIR: '/run/secrets/events/public',
  REFIT_NATS_USER: 'registry',
  REFIT_NATS_PASSWORD: 'nats-secret',
};

describe('registry config', () => {
  it('names the ledger key file from REFIT_LEDGER_KEY; none by default (development)', () => {
    expect(loadConfig({}).ledgerKeyFile).toBeUndefined();
    expect(loadConfig({ REFIT_LEDGER_KEY: ' /run/secrets/ledger.key ' }).ledgerKeyFile).toBe('/run/secrets/ledger.key');
  });

  it('refuses to start in production without REFIT_LEDGER_KEY', () => {
    expect(() => loadConfig(PRODUCTION)).toThrow(/^REFIT_ENV=production refuses to start the registry without REFIT_LEDGER_KEY/);
    expect(loadConfig({ ...PRODUCTION, REFIT_LEDGER_KEY: '/run/secrets/ledger.key' })).toMatchObject({ environment: 'production', ledgerKeyFile: '/run/secrets/ledger.key' });
  });

  it('lets the one-shot migration (REFIT_MIGRATE=only) run without the ledger key or other secrets', () => {
    expect(loadConfig({ REFIT_ENV: 'production', REFIT_MIGRATE: 'only' })).toMatchObject({ environment: 'production', migrate: 'only', ledgerKeyFile: undefined });
    expect(() => loadConfig({ ...PRODUCTION, REFIT_MIGRATE: 'verify' })).toThrow(/REFIT_LEDGER_KEY/);
  });
});
