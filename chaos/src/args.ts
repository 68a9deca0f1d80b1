/** What `npm run chaos -- …` asked for. */
export type ChaosArgs = { only: string[]; list: boolean };

/**
 * Parses `--only a,b` (repeatable, also `--only=a`) and `--list`; refuses anything else and
 * scenario names it does not know.
 */
export function parseArgs(argv: readonly string[], known: readonly string[]): ChaosArgs {
  const only: string[] = [];
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--list') list = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const value = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!value) throw new Error('--only needs a scenario name (see --list)');
      only.push(...value.split(',').filter(Boolean));
    } else throw new Error(`unknown argument '${a}': use --only <scenario>[,<scenario>…] or --list`);
  }
  const unknown = only.filter((n) => !known.includes(n));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return { only, list };
}
