// Lint rules for the whole workspace. Module boundaries: services never import services,
// libs never import services, neither imports an application (the CLI), and libs/ml stays pure (no I/O).
import tseslint from 'typescript-eslint';

const serviceNames = ['trigger', 'ingestion', 'feature', 'trainer', 'evaluator', 'registry', 'deployer', 'console'];
const noService = { group: ['@refit/*-service', '**/services/**'], message: 'A library never imports a service.' };
const noApp = { group: ['@refit/cli', '@refit/cli/*', '**/cli/src/**', '**/scripts/**', '**/bench/**', '**/replay/**', '**/chaos/**'], message: 'A library or service never imports an application (the CLI, scripts, benchmarks, replay, chaos): move what both need into a library.' };
const ioModules = ['pg', 'nats', 'minio', '@grpc/*', 'node:fs', 'node:fs/*', 'fs', 'node:net', 'node:http', 'node:child_process', '@refit/platform', '@refit/testing'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'libs/contracts/src/gen/**', '**/*.config.ts', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['@refit/*-service', '**/services/*/src/**'], message: 'A library or service never imports a service: talk to it over gRPC or NATS.' }] }],
    },
  },
  ...serviceNames.map((name) => ({
    files: [`services/${name}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@refit/*-service', '../../*/src/**', '**/services/**'], message: 'Services never import services: talk over gRPC or NATS events.' }, noApp] }],
    },
  })),
  {
    files: ['libs/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noService, noApp] }] },
  },
  {
    // Benchmarks drive a service's own code in-process to measure it; nothing ships from here.
    files: ['bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // refit replay composes the services' pure decision functions in one process on a virtual clock
    // (a simulation, not a service); services still never import it or each other.
    files: ['replay/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // libs/views renders data to HTML and nothing else; only its asset loader reads files.
    files: ['libs/views/**/*.ts'],
    ignores: ['libs/views/**/*.test.ts', 'libs/views/src/assets.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ioModules, message: 'libs/views is pure: data in, HTML out, no I/O.' }, noService, noApp] }],
    },
  },
  {
    files: ['libs/ml/**/*.ts'],
    ignores: ['libs/ml/**/*.test.ts', 'libs/ml/scripts/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ioModules, message: 'libs/ml is pure: no I/O imports.' }, noService, noApp] }],
    },
  },
);
