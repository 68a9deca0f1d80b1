import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: resolve workspace libraries to their TypeScript sources (the
 * `@refit/source` export condition) so tests never need a prior build. Only that condition is
 * added to Vite's defaults: passing Node's `import` condition breaks tfjs's CommonJS `long`.
 */
export const shared = defineConfig({
  resolve: { conditions: ['@refit/source', ...defaultClientConditions] },
  // Without `module`: Node loads what Vite resolves, and a `module` build (@opentelemetry/api's)
  // may import files without extensions, which only a bundler resolves.
  ssr: { resolve: { conditions: ['@refit/source', ...defaultServerConditions.filter((c) => c !== 'module')], externalConditions: ['node'] } },
  test: {
    environment: 'node',
    // Generous: these only decide when a hung test gives up. Tests wait for conditions (waitFor,
    // whose deadlines scale with REFIT_TEST_SLACK), and on a loaded two-core machine a test that
    // takes 10 s quiet may take 40.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
