import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** eval show, models show, lineage, ledger (show / verify) and alias set. */
export function registerRegistryCommands(program: Command, ctx: CliContext): void {
  const act = ctx.group(() => import('../registry-commands.js'));
  const ev = program.command('eval').description('evaluation reports');
  ev.command('show').argument('<run>').description('the verdict, every gate, metrics, intervals and per-group numbers').action(act((m, c, io, id: string) => m.evalShow(c, io, id)));

  const models = program.commands.find((x) => x.name() === 'models') ?? program.command('models').description('registered model versions');
  models.command('show').argument('<pipeline>').argument('<version>').description('one model version').action(act((m, c, io, p: string, v: string) => m.modelsShow(c, io, p, v)));

  program
    .command('lineage')
    .argument('<pipeline>')
    .argument('<version>')
    .description('what a model version came from and every decision about it')
    .action(act((m, c, io, p: string, v: string) => m.lineage(c, io, p, v)));

  const ledger = program.command('ledger').description("a pipeline's hash-chained decision ledger");
  ledger
    .command('show', { isDefault: true })
    .argument('<pipeline>')
    .option('--run <run>', "only this run's entries")
    .description('every trigger, verdict, promotion and override, oldest first')
    .action(act((m, c, io, p: string, o: { run?: string }) => m.ledgerShow(c, io, p, o.run)));
  ledger.command('verify').argument('<pipeline>').description('recompute the hash chain, check the MACs and the newest checkpoint; exit 1 at the first problem').action(act((m, c, io, p: string) => m.ledgerVerify(c, io, p)));

  const alias = program.command('alias').description('model aliases (champion, candidate, shadow, canary, previous)');
  alias
    .command('set')
    .argument('<pipeline>')
    .argument('<alias>')
    .argument('<version>')
    .requiredOption('--reason <why>', 'why (recorded in the ledger, with who: the identity of your credential)')
    .option('--expect-revision <n>', 'fail if the alias moved since revision n (0: must not exist)')
    .description('move an alias by hand (a manual override; needs the admin role)')
    .action(act((m, c, io, p: string, a: string, v: string, o: { reason: string; expectRevision?: string }) => m.aliasSet(c, io, p, a, v, o)));
}
