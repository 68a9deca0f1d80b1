#!/usr/bin/env node
// Runs the CLI. When its build is current (`npm run build:cli`), the compiled JavaScript runs in
// this process, loading only what the command needs. Otherwise the TypeScript sources run
// under tsx in a child process (workspace libraries resolve through the `@refit/source` export
// condition), so the CLI never runs a stale build; that starts in seconds.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pickEntry } from './pick-entry.js';

const cliDir = fileURLToPath(new URL('..', import.meta.url));
const sourceCondition = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('@refit/source'));
const entry = pickEntry({ cliDir, libsDir: join(cliDir, '..', 'libs'), sourceCondition });

if (entry.kind === 'dist') {
  // What `--no-warnings` does for the sources below: Node's warnings (grpc-js naming a TLS server
  // by its IP address, a deprecation) are not the user's business and would clutter stderr.
  process.removeAllListeners('warning');
  try {
    await import(pathToFileURL(entry.main).href);
  } catch (err) {
    // A library's build is missing (its dist removed): nothing of the CLI has run yet.
    if (/** @type {{ code?: string }} */ (err).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    fromSources(`the build is incomplete (${String(/** @type {Error} */ (err).message).split('\n')[0]})`, join(cliDir, 'src', 'main.ts'));
  }
} else {
  fromSources(entry.why, entry.main);
}

/**
 * Runs the CLI from its sources and exits with its status. The hint to build goes to a terminal
 * only, so scripts reading stderr see the CLI's own output, and not when sources were asked for.
 * @param {string} why
 * @param {string} main
 */
function fromSources(why, main) {
  if (process.stderr.isTTY && !sourceCondition) process.stderr.write(`refit: starting from sources, which is slow (${why}); \`npm run build:cli\` makes it start fast\n`);
  const r = spawnSync(process.execPath, ['--conditions=@refit/source', '--import', import.meta.resolve('tsx'), '--no-warnings', main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
