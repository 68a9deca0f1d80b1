import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPLAY_MAIN, replayArgs } from './replay-command.js';

const bin = fileURLToPath(new URL('../bin/refit.js', import.meta.url));
const refit = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('refit replay', () => {
  it('runs the replay app, handing on every argument and the CLI\'s --json', () => {
    expect(existsSync(REPLAY_MAIN)).toBe(true);
    expect(replayArgs(['a.yaml', '--data', 'x.csv'], false)).toEqual(['a.yaml', '--data', 'x.csv']);
    expect(replayArgs(['a.yaml', '--data', 'x.csv'], true)).toEqual(['a.yaml', '--data', 'x.csv', '--json']);
    expect(replayArgs(['a.yaml', '--json'], true)).toEqual(['a.yaml', '--json']);
  });

  it("passes the program's output and exit code through", () => {
    const help = refit('replay', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: refit replay [options] <spec...>');
    expect(help.stdout).toContain('--data <files...>');
    const bad = refit('replay', 'weather.yaml');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('refit replay: give the history to replay with --data <file.csv|file.jsonl>…\n');
  }, 60_000);
});
