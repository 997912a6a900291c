/**
 * `npx scrapeguard …` — the operator's view of the fleet. Reads DATABASE_URL (or, in a
 * checkout of scrapeguard, the development database started by `npm run db:start`).
 */
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { createScrapeguard, ScrapeguardError, type LogLevel, type Scrapeguard } from '../sdk/index.js';
import {
  breakerCommand,
  clockCommand,
  historyCommand,
  logsCommand,
  runsCommand,
  statusCommand,
  transitionsCommand,
  workersCommand,
} from './commands.js';
import { localDatabaseUrl } from './local-database.js';
import { migrateDatabase } from './migrate.js';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

function positiveInt(max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0 || n > max) throw new InvalidArgumentError(`expected an integer from 1 to ${max}`);
    return n;
  };
}

/** Who runs the command, for breaker overrides: the OS user. */
export function defaultActor(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

export interface ProgramIo {
  print(s: string): void;
  /** Connection string for commands that run outside the SDK (migrate). */
  databaseUrl?(): string;
}

export function buildProgram(connect: () => Promise<Scrapeguard>, print: (s: string) => void, io: Partial<ProgramIo> = {}): Command {
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

  program.command('workers').description('every worker: its share of failed runs across sources next to the other workers\' (who fails everywhere)')
    .option('-r, --recent <interval>', "window of runs, a PostgreSQL interval ('6 hours', '7 days')", '24 hours')
    .action((opts: { recent: string }) => run((sg) => workersCommand(sg, opts.recent))());

  const breaker = program.command('breaker').description('operator overrides of one source\'s breaker (recorded with --actor)');
  const actorOption = () => new Option('--actor <name>', 'who acts, recorded in the transition').default(defaultActor(), 'the OS user');
  for (const [name, action, text] of [
    ['force', 'force', 'force open: deny every permit until `auto` or `reset`'],
    ['disable', 'disable', 'always permit, never trip'],
    ['auto', 'auto', 'back to automatic operation'],
    ['reset', 'reset', 'closed, no failures, no back-off'],
  ] as const) {
    breaker.command(`${name} <source>`).description(text).addOption(actorOption())
      .action((source: string, opts: { actor: string }) => run((sg) => breakerCommand(sg, action, source, opts.actor))());
  }

  program.command('transitions [source]').description('the last breaker transitions of a source (id or name), or of every source')
    .option('-n, --limit <n>', 'how many', positiveInt(10000), 20)
    .action((source: string | undefined, opts: { limit: number }) => run((sg) => transitionsCommand(sg, source, opts.limit))());

  program.command('runs <source>').description('recent runs of a source (id or name)')
    .option('-n, --limit <n>', 'how many', positiveInt(10000), 20)
    .action((source: string, opts: { limit: number }) => run((sg) => runsCommand(sg, source, opts.limit))());

  program.command('logs <run-id>').description('log lines of one run, in the order they were logged')
    .addOption(new Option('-l, --level <level>', 'this level and above').choices(LEVELS).default('debug'))
    .option('-n, --limit <n>', 'at most this many lines (the first ones)', positiveInt(10000), 200)
    .action((runId: string, opts: { level: LogLevel; limit: number }) => run((sg) => logsCommand(sg, runId, opts.level, opts.limit))());

  program.command('history <event-id>').description('every recorded change of one event')
    .action((eventId: string) => run((sg) => historyCommand(sg, eventId))());

  const clock = program.command('clock')
    .description('the shared scrapeguard clock of a test or demo database (moves time for every connection)');
  const forceOption = () => new Option('--force', 'allow moving it back behind times already recorded');
  clock.command('show', { isDefault: true }).description('what the clock reads')
    .action(() => run((sg) => clockCommand(sg, 'show'))());
  clock.command('advance <interval>').description("move it by a PostgreSQL interval ('10 minutes', '2 hours')").addOption(forceOption())
    .action((interval: string, opts: { force?: boolean }) => run((sg) => clockCommand(sg, 'advance', interval, opts.force === true))());
  clock.command('freeze <time>').description('stop it at a time (ISO 8601), or `none` to let it run again').addOption(forceOption())
    .action((at: string, opts: { force?: boolean }) => run((sg) => clockCommand(sg, 'freeze', at, opts.force === true))());
  clock.command('reset').description('back to the wall clock').addOption(forceOption())
    .action((opts: { force?: boolean }) => run((sg) => clockCommand(sg, 'reset', undefined, opts.force === true))());

  program.command('migrate').description("apply scrapeguard's SQL (the migrations shipped in this package) to DATABASE_URL")
    .action(async () => {
      const url = (io.databaseUrl ?? databaseUrlFromEnv)();
      const r = await migrateDatabase(url);
      if (r.code !== 0) throw new Error(`graphile-migrate migrate failed:\n${r.output.trim()}`);
      print(r.output.trim());
    });

  return program;
}

function databaseUrlFromEnv(): string {
  const url = process.env.DATABASE_URL ?? localDatabaseUrl();
  if (!url) throw new Error('set DATABASE_URL (or, in a checkout of scrapeguard, start its database with `npm run db:start`)');
  return url;
}

async function connectFromEnv(): Promise<Scrapeguard> {
  return createScrapeguard({ connectionString: databaseUrlFromEnv() });
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram(connectFromEnv, (s) => console.log(s)).parseAsync(argv);
    return 0;
  } catch (err) {
    const code = err instanceof ScrapeguardError && err.code ? ` [${err.code}]` : '';
    console.error(pc.red(`error${code}: ${err instanceof Error ? err.message : String(err)}`));
    if (err instanceof ScrapeguardError && err.hint) console.error(pc.dim(`hint: ${err.hint}`));
    return 1;
  }
}
