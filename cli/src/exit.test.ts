import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/refit.js', import.meta.url));
const fixture = fileURLToPath(new URL('./exit.fixture.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'refit-cli-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Outcome = { code: number | null; stdout: Buffer; stderr: string };

/**
 * Runs a program with its stdout on a real pipe that is not read for `stallMs` (a slow consumer,
 * like `| jq` starting up), then read to the end.
 */
function run(command: string[], stallMs: number, readBytes = Infinity): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, command, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let got = 0;
    let err = '';
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), stallMs);
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      got += b.length;
      // A consumer that goes away early (`| head -c 10`).
      if (got >= readBytes) child.stdout.destroy();
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

describe('the CLI exits only once its output is written', () => {
  it('a large --json answer reaches a pipe whole (it was cut at 131,072 bytes)', async () => {
    // A 20,000-column CSV: `data infer --json` answers ~1.5 MB without any service.
    const names = Array.from({ length: 20_000 }, (_, i) => `column_${i}`);
    writeFileSync(join(dir, 'wide.csv'), `${names.join(',')}\n${names.map((_, i) => i).join(',')}\n${names.map((_, i) => i * 2).join(',')}\n`);
    const r = await run([bin, '--json', 'data', 'infer', join(dir, 'wide.csv')], 500);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1_000_000);
    const answer = JSON.parse(r.stdout.toString()) as { columns: unknown[] };
    expect(answer.columns).toHaveLength(20_000);
  }, 60_000);

  it('a 3 MB answer from a program that keeps its event loop busy (open channels) reaches the pipe whole', async () => {
    const r = await run(['--import', 'tsx', fixture, String(3 * 2 ** 20)], 300);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.length).toBe(3 * 2 ** 20 + 1);
  }, 30_000);

  it('a consumer that goes away early (| head) ends the program quietly, with its exit code', async () => {
    const r = await run(['--import', 'tsx', fixture, String(3 * 2 ** 20), '7'], 0, 10);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(7);
  }, 30_000);
});
