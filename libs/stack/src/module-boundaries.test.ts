import { createProjectGraphAsync } from '@nx/devkit';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './stack.js';

// The workspace's lint configuration (eslint.config.mjs) enforces the module boundaries with Nx's
// rule on the project tags: this runs it on code placed at real paths of the workspace, so a
// constraint that stops matching fails here.
const eslint = new ESLint({ cwd: REPO_ROOT });
const RULES = new Set(['@nx/enforce-module-boundaries', 'no-restricted-imports']);

async function boundaryErrors(filePath: string, code: string): Promise<string> {
  const [result] = await eslint.lintText(code, { filePath: `${REPO_ROOT}/${filePath}` });
  return result.messages
    .filter((m) => m.ruleId !== null && RULES.has(m.ruleId))
    .map((m) => m.message)
    .join('\n');
}

describe('module boundaries', () => {
  // Nx's rule reads the cached project graph and, without one (a fresh clone linted by plain
  // eslint), skips itself with a warning: make sure there is one.
  beforeAll(async () => {
    await createProjectGraphAsync({ exitOnError: false });
  });

  it('refuses a service importing another service, by package or by path', async () => {
    expect(await boundaryErrors('services/trigger/src/main.ts', "import { startDeployerService } from '@refit/deployer-service';\nexport const x = startDeployerService;\n")).toMatch(
      /tagged with "type:service" can only depend on libs tagged with "type:lib"|Imports of apps are forbidden/,
    );
    expect(await boundaryErrors('services/trigger/src/main.ts', "import { loadConfig } from '../../deployer/src/config.js';\nexport const x = loadConfig;\n")).toMatch(/relative or absolute path/);
  });

  it('refuses a library or a service importing an application (the CLI)', async () => {
    // Nx names the first rule an import breaks: importing an application, the tags, or (the CLI
    // depends on libs/stack) the cycle it would make.
    const app = /Imports of apps are forbidden|can only depend on libs tagged|Circular dependency between "stack" and "cli"/;
    expect(await boundaryErrors('libs/stack/src/index.ts', "import { connect } from '@refit/cli';\nexport const x = connect;\n")).toMatch(app);
    expect(await boundaryErrors('libs/platform/src/index.ts', "import { runDemo } from '../../../cli/src/demo.js';\nexport const x = runDemo;\n")).toMatch(/relative or absolute path/);
    expect(await boundaryErrors('services/deployer/src/main.ts', "import { connect } from '@refit/cli';\nexport const x = connect;\n")).toMatch(app);
    expect(await boundaryErrors('libs/ml/src/index.ts', "import { connect } from '@refit/cli';\nexport const x = connect;\n")).toMatch(app);
  });

  it('keeps libs/ml pure: no project, no I/O', async () => {
    expect(await boundaryErrors('libs/ml/src/index.ts', "import { parseSpec } from '@refit/spec';\nexport const x = parseSpec;\n")).toMatch(/tagged with "scope:ml" cannot depend on any libs/);
    expect(await boundaryErrors('libs/ml/src/index.ts', "import pg from 'pg';\nexport const x = pg;\n")).not.toBe('');
    expect(await boundaryErrors('libs/ml/src/index.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n")).toMatch(/libs\/ml is pure/);
  });

  it('lets a library import a library and an application import both', async () => {
    expect(await boundaryErrors('libs/stack/src/index.ts', "import { createPool } from '@refit/platform';\nexport const x = createPool;\n")).toBe('');
    expect(await boundaryErrors('cli/src/index.ts', "import { startStack } from '@refit/stack';\nexport const x = startStack;\n")).toBe('');
    expect(await boundaryErrors('chaos/src/index.ts', "import { connect } from '@refit/cli';\nexport const x = connect;\n")).toBe('');
  });
});
