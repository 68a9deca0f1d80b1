import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './stack.js';

// The workspace's lint configuration (eslint.config.mjs) enforces the module boundaries: this runs
// it on code placed at real paths of the workspace, so a rule that stops matching fails here.
const eslint = new ESLint({ cwd: REPO_ROOT });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${REPO_ROOT}/${filePath}` });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('module boundaries', () => {
  it('refuses a service importing another service', async () => {
    const errors = await boundaryErrors('services/trigger/src/main.ts', "import { startDeployerService } from '@refit/deployer-service';\nexport const x = startDeployerService;\n");
    expect(errors.join('\n')).toMatch(/Services never import services/);
    expect(await boundaryErrors('services/trigger/src/main.ts', "import { loadConfig } from '../../deployer/src/config.js';\nexport const x = loadConfig;\n")).not.toEqual([]);
  });

  it('refuses a library or a service importing an application (the CLI)', async () => {
    expect((await boundaryErrors('libs/stack/src/index.ts', "import { connect } from '@refit/cli';\nexport const x = connect;\n")).join('\n')).toMatch(/never imports an application/);
    expect((await boundaryErrors('libs/platform/src/index.ts', "import { runDemo } from '../../../cli/src/demo.js';\nexport const x = runDemo;\n")).join('\n')).toMatch(/never imports an application/);
    expect((await boundaryErrors('services/deployer/src/main.ts', "import { connect } from '@refit/cli';\nexport const x = connect;\n")).join('\n')).toMatch(/never imports an application/);
    expect((await boundaryErrors('libs/ml/src/index.ts', "import { connect } from '@refit/cli';\nexport const x = connect;\n")).join('\n')).toMatch(/never imports an application/);
  });

  it('lets a library import a library and an application import both', async () => {
    expect(await boundaryErrors('libs/stack/src/index.ts', "import { createPool } from '@refit/platform';\nexport const x = createPool;\n")).toEqual([]);
    expect(await boundaryErrors('cli/src/index.ts', "import { startStack } from '@refit/stack';\nexport const x = startStack;\n")).toEqual([]);
  });
});
