import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const buf = join(root, 'node_modules/.bin/buf');

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

describe('contracts', () => {
  it('buf lint passes on proto/', () => {
    execFileSync(buf, ['lint'], { cwd: join(root, 'proto'), stdio: 'pipe' });
  });

  it('generated code is up to date with proto/ (regenerating changes nothing)', () => {
    const out = mkdtempSync(join(tmpdir(), 'refit-gen-'));
    try {
      const template = readFileSync(join(root, 'proto/buf.gen.yaml'), 'utf8')
        .replace('../node_modules/.bin/protoc-gen-es', join(root, 'node_modules/.bin/protoc-gen-es'))
        .replace('../libs/contracts/src/gen', out);
      const templatePath = join(out, 'buf.gen.yaml');
      writeFileSync(templatePath, template);
      execFileSync(buf, ['generate', '--template', templatePath, '-o', '/'], { cwd: join(root, 'proto'), stdio: 'pipe' });
      const committed = join(root, 'libs/contracts/src/gen');
      const fresh = listFiles(out).filter((f) => f.endsWith('.ts'));
      const expected = listFiles(committed);
      expect(fresh.map((f) => relative(out, f)).sort()).toEqual(expected.map((f) => relative(committed, f)).sort());
      for (const f of fresh) {
        expect(readFileSync(f, 'utf8'), `${relative(out, f)} is stale: run npm run gen`).toBe(
          readFileSync(join(committed, relative(out, f)), 'utf8'),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('buf breaking passes against main (when main exists)', () => {
    let hasMain = true;
    try {
      execFileSync('git', ['rev-parse', '--verify', '--quiet', 'main:proto'], { cwd: root, stdio: 'pipe' });
    } catch {
      hasMain = false;
    }
    if (!hasMain) return;
    execFileSync(buf, ['breaking', '--against', `${root}/.git#branch=main,subdir=proto`], { cwd: join(root, 'proto'), stdio: 'pipe' });
  });
});
