#!/usr/bin/env node
// Runs the CLI from its TypeScript sources through tsx (workspace libraries resolve through the
// `@refit/source` export condition), so it never runs a stale build.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const r = spawnSync(process.execPath, ['--conditions=@refit/source', '--import', 'tsx', '--no-warnings', source, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
