/**
 * The operator commands, each a function from a Scrapeguard client to printed text,
 * so tests can run them against a database and assert on the output.
 */
import {
  UnknownSourceError,
  ValidationError,
  type BreakerMode,
  type LogLevel,
  type RowOf,
  type Scrapeguard,
} from '../sdk/index.js';
import * as fmt from './format.js';

type SourceRow = RowOf<'event_sources'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A source given by id or by exact name. */
export async function resolveSource(sg: Scrapeguard, ref: string): Promise<SourceRow> {
  const [row] = await sg.transport.select('event_sources', { eq: UUID.test(ref) ? { id: ref } : { name: ref } });
  if (!row) throw new UnknownSourceError({ code: 'SG001', message: `no event source ${JSON.stringify(ref)}` });
  return row;
}

export async function statusCommand(sg: Scrapeguard): Promise<string> {
  const rows = await sg.health.fleet();
  return fmt.table(
    ['source', 'breaker', 'failures', 'last run', 'last status', 'success 24h', `success last runs`, 'p95', 'coverage'],
    rows.map((r) => [
      fmt.text(r.source_name),
      fmt.state(r.breaker_state),
      String(r.breaker_failure_count ?? 0),
      fmt.time(r.last_run_started_at),
      fmt.status(r.last_run_status),
      fmt.rate(r.recent_success_rate, r.recent_runs),
      fmt.rate(r.last_n_success_rate, r.last_n_runs),
      fmt.ms(r.p95_duration_ms),
      fmt.pct(r.mean_field_coverage),
    ]),
  );
}

/**
 * Per worker, its share of failed runs across sources next to the other workers' share on
 * the same sources: the worker that fails everywhere stands out (marked when its share is at
 * least twice the others' and over 50%).
 */
export async function workersCommand(sg: Scrapeguard, recent = '24 hours'): Promise<string> {
  const rows = await sg.health.workers({ recent });
  if (rows.length === 0) return `no worker ran or failed in the last ${recent}`;
  return fmt.table(
    ['worker', 'runs', 'failed', `failure share ${recent}`, 'others, same sources', 'failed on', 'in streaks', 'last failure'],
    rows.map((w) => {
      const share = w.failure_share === null ? null : Number(w.failure_share);
      const others = w.others_failure_share === null ? null : Number(w.others_failure_share);
      const standsOut = share !== null && share >= 50 && (others === null || share >= 2 * others);
      return [
        w.worker === null ? fmt.dim('(no name)') : fmt.text(w.worker),
        String(w.runs),
        String(w.failed_runs),
        fmt.share(share, standsOut),
        fmt.pct(others),
        `${w.failing_sources} of ${w.sources} sources`,
        String(w.streak_sources),
        fmt.time(w.last_failure_at),
      ];
    }),
  );
}

/** An operator override; `actor` (who acts) is recorded in the transition. */
export async function breakerCommand(
  sg: Scrapeguard,
  action: 'force' | 'disable' | 'reset' | 'auto',
  ref: string,
  actor?: string,
): Promise<string> {
  const source = await resolveSource(sg, ref);
  const mode: BreakerMode | null = action === 'force' ? 'forced_open' : action === 'disable' ? 'disabled' : action === 'auto' ? 'auto' : null;
  const row = mode ? await sg.breaker.force(source.id, mode, actor) : await sg.breaker.reset(source.id, actor);
  return `${fmt.text(source.name)}: breaker ${fmt.state(row.state)}`;
}

/** The last transitions of one source (or of all), oldest first. */
export async function transitionsCommand(sg: Scrapeguard, ref: string | undefined, limit: number): Promise<string> {
  const source = ref ? await resolveSource(sg, ref) : undefined;
  const rows = await sg.transitions.recent({ sourceId: source?.id, limit });
  const names = new Map<string, string>();
  if (source) names.set(source.id, source.name);
  else for (const s of await sg.transport.select('event_sources')) names.set(s.id, s.name);
  return fmt.table(
    ['at', 'source', 'from → to', 'reason', 'open until', 'worker', 'streak workers', 'retry-after until', 'actor'],
    rows.map((t) => [
      fmt.time(t.at),
      fmt.text(names.get(t.source_id) ?? t.source_id),
      `${fmt.state(t.from_state)} → ${fmt.state(t.to_state)}`,
      t.reason,
      fmt.time(t.open_until),
      fmt.text(t.worker),
      t.workers ? t.workers.map((w) => (w === null ? '(no name)' : fmt.text(w, 60))).join(', ') : '',
      fmt.time(t.retry_after_until),
      fmt.text(t.actor),
    ]),
  );
}

export async function runsCommand(sg: Scrapeguard, ref: string, limit: number): Promise<string> {
  const source = await resolveSource(sg, ref);
  const runs = await sg.runs.list(source.id, limit);
  return fmt.table(
    ['run', 'engine', 'status', 'started', 'duration', 'coverage', 'found/created/updated/skipped', 'error'],
    runs.map((r) => [
      r.id,
      r.engine,
      fmt.status(r.status),
      fmt.time(r.started_at),
      fmt.ms(r.duration_ms),
      fmt.pct(r.field_coverage),
      [r.events_found, r.events_created, r.events_updated, r.events_skipped].map((n) => String(n ?? 0)).join('/'),
      fmt.text(r.error_message),
    ]),
  );
}

/**
 * The first `limit` lines of a run at `minLevel` or above, in the order they were
 * logged, and a line saying how many more there are. An unknown run is an error.
 */
export async function logsCommand(sg: Scrapeguard, runId: string, minLevel: LogLevel = 'debug', limit = 200): Promise<string> {
  if (!UUID.test(runId)) throw new ValidationError({ code: '22023', message: `not a run id: ${JSON.stringify(runId)}` });
  const page = await sg.logs.forRun(runId, { minLevel, limit });
  const out = [
    fmt.table(
      ['time', 'level', 'message', 'metadata'],
      page.lines.map((r) => [fmt.time(r.logged_at), fmt.level(r.level), fmt.text(r.message), fmt.json(r.metadata)]),
    ),
  ];
  const scope = minLevel === 'debug' ? '' : ` at ${minLevel} or above`;
  const more = page.matching - page.lines.length;
  if (more > 0) {
    out.push(`${more} more line${more === 1 ? '' : 's'}${scope} not shown (${page.matching} in all; --limit ${Math.min(page.matching, 10000)} shows ${page.matching <= 10000 ? 'them all' : 'up to 10000'})`);
  } else {
    out.push(`${page.matching} line${page.matching === 1 ? '' : 's'}${scope}`);
  }
  return out.join('\n');
}

/** The shared clock of a test or demo database: read it, or move it and read it. */
export async function clockCommand(
  sg: Scrapeguard,
  action: 'show' | 'advance' | 'freeze' | 'reset',
  arg?: string,
  force = false,
): Promise<string> {
  const clock = sg.clock;
  if (!clock) throw new Error('clock commands need a direct PostgreSQL connection (DATABASE_URL)');
  if (action === 'advance') await clock.advance(arg ?? '', { force });
  else if (action === 'freeze') await clock.freeze(arg === 'none' ? null : (arg ?? ''), { force });
  else if (action === 'reset') await clock.reset({ force });
  const r = await clock.read();
  const how = r.frozenAt ? 'frozen' : r.offset === '00:00:00' ? 'wall clock' : `running, offset ${r.offset}`;
  return `scrapeguard clock: ${fmt.time(r.now)} (${how})`;
}

const WHOLE_ROW: Record<'insert' | 'delete' | 'baseline', string> = {
  insert: 'inserted',
  delete: 'deleted',
  baseline: 'state kept (older history pruned)',
};

export async function historyCommand(sg: Scrapeguard, eventId: string): Promise<string> {
  const revs = await sg.history.event(eventId);
  return fmt.table(
    ['rev', 'when', 'operation', 'field', 'old', 'new', 'run', 'actor'],
    revs.map((r) => [
      r.revision,
      fmt.time(r.changed_at),
      r.operation,
      r.field_name ?? '(row)',
      r.operation === 'update' ? fmt.json(r.old_value) : '',
      r.operation === 'update' ? fmt.json(r.new_value) : WHOLE_ROW[r.operation],
      r.run_id ?? '',
      fmt.text(r.actor),
    ]),
  );
}
