#!/usr/bin/env node
// Runs the CLI from its TypeScript sources (workspace libraries resolve through the
// `@refit/source` export condition); a built copy (dist/) is used when there is one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const source = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const args = existsSync(built) && !process.env.REFIT_FROM_SOURCE
  ? [built, ...process.argv.slice(2)]
  : ['--conditions=@refit/source', '--import', 'tsx', '--no-warnings', source, ...process.argv.slice(2)];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
