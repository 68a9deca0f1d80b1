// @ts-check
// How bin/refit.js runs the CLI: the compiled JavaScript in its own process when the build is at
// least as new as every source it was built from, else the TypeScript sources through tsx. Plain
// JavaScript, so the bin can load it without a build or a loader.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How to run the CLI: `dist` imports `main` (cli/dist/main.js) in-process; `source` runs `main`
 * (cli/src/main.ts) under tsx, and `why` says why the build was not used.
 * @typedef {{ kind: 'dist'; main: string } | { kind: 'source'; main: string; why: string }} Entry
 */

/** The file (relative to its folder) the build writes last; `npm run build:cli` touches it too. */
export const BUILD_STAMP = '.build-stamp';

/**
 * The source folders the compiled CLI comes from: `<cliDir>/src` and `<libsDir>/<name>/src` of
 * every `@refit/<name>` workspace library it depends on, directly or through another library
 * (read from the package.json files).
 * @param {string} cliDir
 * @param {string} libsDir
 * @returns {string[]}
 */
export function sourceDirs(cliDir, libsDir) {
  const dirs = [join(cliDir, 'src')];
  const seen = new Set();
  const visit = (/** @type {string} */ pkgDir) => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      const name = /^@refit\/(.+)$/.exec(dep)?.[1];
      if (!name || seen.has(name)) continue;
      seen.add(name);
      dirs.push(join(libsDir, name, 'src'));
      visit(join(libsDir, name));
    }
  };
  visit(cliDir);
  return dirs;
}

/**
 * The most recently modified file under `dir` (tests excluded: the build leaves them out), or
 * undefined when there is none. Every file is stat'ed: editors that write in place do not change
 * a folder's own time, so folder times alone would miss edits (~200 files: a few milliseconds).
 * @param {string} dir
 * @returns {{ file: string; mtimeMs: number } | undefined}
 */
export function newestFile(dir) {
  /** @type {{ file: string; mtimeMs: number } | undefined} */
  let newest;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name.endsWith('.test.ts')) continue;
    const file = join(e.parentPath, e.name);
    const { mtimeMs } = statSync(file);
    if (!newest || mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
  }
  return newest;
}

/**
 * Picks the compiled CLI when `<cliDir>/dist/main.js` exists and neither it nor its build stamp
 * is older than any file of {@link sourceDirs}; else the sources. `sourceCondition` (the process
 * resolves workspace libraries to their TypeScript through `@refit/source`) also picks the
 * sources, since compiled code cannot import those.
 * @param {{ cliDir: string; libsDir: string; sourceCondition?: boolean }} o
 * @returns {Entry}
 */
export function pickEntry({ cliDir, libsDir, sourceCondition = false }) {
  const source = (/** @type {string} */ why) => /** @type {Entry} */ ({ kind: 'source', main: join(cliDir, 'src', 'main.ts'), why });
  if (sourceCondition) return source('the @refit/source condition is set');
  const main = join(cliDir, 'dist', 'main.js');
  const built = Math.max(mtimeOf(main), mtimeOf(join(cliDir, 'dist', BUILD_STAMP)));
  if (built === 0) return source('the CLI is not built');
  for (const dir of sourceDirs(cliDir, libsDir)) {
    const newest = newestFile(dir);
    if (newest && newest.mtimeMs > built) return source(`${newest.file} changed after the last build`);
  }
  return { kind: 'dist', main };
}

/** @param {string} file */
function mtimeOf(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
