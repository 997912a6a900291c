/**
 * `npx scrapeguard …` — the operator's view of the fleet. Reads DATABASE_URL (or the
 * local development database started by `npm run db:start`).
 */
import { Command, InvalidArgumentError } from 'commander';
import pc from 'picocolors';
import { createScrapeguard, type Scrapeguard } from '../client.js';
import { ScrapeguardError } from '../errors.js';
import { breakerCommand, historyCommand, logsCommand, runsCommand, statusCommand } from './commands.js';

const LEVELS = ['debug', 'info', 'warn', 'error'];

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function buildProgram(connect: () => Promise<Scrapeguard>, print: (s: string) => void): Command {
  const program = new Command('scrapeguard')
    .description('Operate the scraping fleet: breakers, runs, logs and event history (reads DATABASE_URL)')
    .showHelpAfterError();

  const run = (fn: (sg: Scrapeguard) => Promise<string>) => async () => {
    const sg = await connect();
    try {
      print(await fn(sg));
    } finally {
      await sg.close();
    }
  };

  program.command('status').description('every source: breaker state, last run, success rate, p95 duration, coverage')
    .action(() => run((sg) => statusCommand(sg))());

  const breaker = program.command('breaker').description('operator overrides of one source\'s breaker');
  breaker.command('force <source>').description('force open: deny every permit until `auto` or `reset`')
    .action((source: string) => run((sg) => breakerCommand(sg, 'force', source))());
  breaker.command('disable <source>').description('always permit, never trip')
    .action((source: string) => run((sg) => breakerCommand(sg, 'disable', source))());
  breaker.command('auto <source>').description('back to automatic operation')
    .action((source: string) => run((sg) => breakerCommand(sg, 'auto', source))());
  breaker.command('reset <source>').description('closed, no failures, no back-off')
    .action((source: string) => run((sg) => breakerCommand(sg, 'reset', source))());

  program.command('runs <source>').description('recent runs of a source (id or name)')
    .option('-n, --limit <n>', 'how many', positiveInt, 20)
    .action((source: string, opts: { limit: number }) => run((sg) => runsCommand(sg, source, opts.limit))());

  program.command('logs <run-id>').description('log lines of one run')
    .option('-l, --level <level>', `only this level (${LEVELS.join('|')})`, (v: string) => {
      if (!LEVELS.includes(v)) throw new InvalidArgumentError(`one of ${LEVELS.join(', ')}`);
      return v;
    })
    .action((runId: string, opts: { level?: string }) => run((sg) => logsCommand(sg, runId, opts.level))());

  program.command('history <event-id>').description('every recorded change of one event')
    .action((eventId: string) => run((sg) => historyCommand(sg, eventId))());

  return program;
}

async function connectFromEnv(): Promise<Scrapeguard> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    const { readClusterInfo } = await import('../../scripts/lib/local-postgres.js');
    const { LOCAL_CLUSTER_DIR } = await import('../../scripts/lib/paths.js');
    const local = readClusterInfo(LOCAL_CLUSTER_DIR);
    if (!local) throw new Error('set DATABASE_URL (or start the local database with `npm run db:start`)');
    url = local.urlFor('scrapeguard');
  }
  return createScrapeguard({ connectionString: url });
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram(connectFromEnv, (s) => console.log(s)).parseAsync(argv);
    return 0;
  } catch (err) {
    const code = err instanceof ScrapeguardError && err.code ? ` [${err.code}]` : '';
    console.error(pc.red(`error${code}: ${err instanceof Error ? err.message : String(err)}`));
    return 1;
  }
}
