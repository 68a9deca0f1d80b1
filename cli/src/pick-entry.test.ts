import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILD_STAMP, pickEntry, sourceDirs } from '../bin/pick-entry.js';

const cliRoot = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(cliRoot, '..');

/** Writes `text` to `file` (making its folder) with the modification time `at` (seconds). */
function put(file: string, text: string, at: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  utimesSync(file, at, at);
}

/**
 * A workspace of its own: cli (depending on @refit/platform, which depends on @refit/contracts)
 * with sources written at t=1000 and, with `built`, a dist/main.js written at t=2000.
 */
function layout(root: string, built: boolean): { cliDir: string; libsDir: string } {
  const cliDir = join(root, 'cli');
  const libsDir = join(root, 'libs');
  put(join(cliDir, 'package.json'), JSON.stringify({ type: 'module', dependencies: { '@refit/platform': '*', commander: '*' } }), 1000);
  put(join(cliDir, 'src/main.ts'), "console.log('from sources', JSON.stringify(process.argv.slice(2)));\n", 1000);
  put(join(libsDir, 'platform/package.json'), JSON.stringify({ dependencies: { '@refit/contracts': '*', zod: '*' } }), 1000);
  put(join(libsDir, 'platform/src/index.ts'), '', 1000);
  put(join(libsDir, 'platform/src/grpc/client.ts'), '', 1000);
  put(join(libsDir, 'contracts/package.json'), JSON.stringify({}), 1000);
  put(join(libsDir, 'contracts/src/gen/refit/trigger/v1/trigger_pb.ts'), '', 1000);
  // A library the CLI does not depend on: its changes never make the CLI's build stale.
  put(join(libsDir, 'ml/package.json'), JSON.stringify({}), 1000);
  put(join(libsDir, 'ml/src/index.ts'), '', 1000);
  if (built) put(join(cliDir, 'dist/main.js'), "process.emitWarning('a deprecation');\nconsole.log('from the build', JSON.stringify(process.argv.slice(2)));\n", 2000);
  return { cliDir, libsDir };
}

describe('bin/refit.js: the compiled CLI when it is current, else the sources', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'refit-pick-entry-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('takes the sources when there is no build', () => {
    const dirs = layout(root, false);
    expect(pickEntry(dirs)).toEqual({ kind: 'source', main: join(dirs.cliDir, 'src/main.ts'), why: 'the CLI is not built' });
  });

  it('takes the build when it is newer than every source of the CLI and its libraries', () => {
    const dirs = layout(root, true);
    put(join(dirs.libsDir, 'ml/src/index.ts'), '// edited', 3000);
    put(join(dirs.cliDir, 'src/main.test.ts'), '// tests are not built', 3000);
    expect(pickEntry(dirs)).toEqual({ kind: 'dist', main: join(dirs.cliDir, 'dist/main.js') });
  });

  it.each([
    ['a CLI source', 'cli/src/main.ts'],
    ['a source of a library the CLI imports', 'libs/platform/src/index.ts'],
    ['a file deep in a library the CLI imports through another', 'libs/contracts/src/gen/refit/trigger/v1/trigger_pb.ts'],
    ['a new file', 'libs/platform/src/grpc/new-file.ts'],
  ])('takes the sources when %s changed after the build', (_what, file) => {
    const dirs = layout(root, true);
    put(join(root, file), '// edited', 3000);
    expect(pickEntry(dirs)).toEqual({ kind: 'source', main: join(dirs.cliDir, 'src/main.ts'), why: `${join(root, file)} changed after the last build` });
  });

  it('counts the stamp `npm run build:cli` writes when nx left older outputs as they were', () => {
    const dirs = layout(root, true);
    put(join(dirs.libsDir, 'platform/src/index.ts'), '', 3000);
    put(join(dirs.cliDir, 'dist', BUILD_STAMP), '', 4000);
    expect(pickEntry(dirs).kind).toBe('dist');
  });

  it('takes the sources when the process resolves workspace libraries to their TypeScript', () => {
    expect(pickEntry({ ...layout(root, true), sourceCondition: true }).kind).toBe('source');
  });

  it('the bin runs the build in-process when it is current and the sources under tsx when not (or when the build is incomplete), arguments passed on', () => {
    const { cliDir } = layout(root, true);
    mkdirSync(join(cliDir, 'bin'));
    for (const f of ['refit.js', 'pick-entry.js']) copyFileSync(join(cliRoot, 'bin', f), join(cliDir, 'bin', f));
    // The workspace's packages, so the bin finds tsx from where it lies, as the real one does.
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
    const run = () => spawnSync(process.execPath, [join(cliDir, 'bin/refit.js'), 'runs', 'list'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    // Node's warnings stay out of stderr, as `--no-warnings` keeps them out of the sources' run.
    expect(run()).toMatchObject({ status: 0, stdout: 'from the build ["runs","list"]\n', stderr: '' });
    put(join(cliDir, 'src/main.ts'), "console.log('from sources', JSON.stringify(process.argv.slice(2)));\n", 3000);
    // Not a terminal: the hint to build stays out of stderr, which scripts read.
    expect(run()).toMatchObject({ status: 0, stdout: 'from sources ["runs","list"]\n', stderr: '' });
    // A current build whose libraries' builds are gone (a dist removed): the sources, not a crash.
    put(join(cliDir, 'dist/main.js'), "import '@refit/no-such-build';\n", 4000);
    expect(run()).toMatchObject({ status: 0, stdout: 'from sources ["runs","list"]\n', stderr: '' });
  }, 30_000);

  it('reads the real CLI’s libraries from the package.json files, transitively', () => {
    const dirs = sourceDirs(cliRoot, join(repoRoot, 'libs'));
    expect(dirs).toEqual(expect.arrayContaining([join(cliRoot, 'src'), join(repoRoot, 'libs/platform/src'), join(repoRoot, 'libs/contracts/src'), join(repoRoot, 'libs/spec/src'), join(repoRoot, 'libs/views/src')]));
    expect(dirs).not.toContain(join(repoRoot, 'libs/ml/src'));
  });
});
