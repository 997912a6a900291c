/**
 * The operator commands, each a function from a Scrapeguard client to printed text,
 * so tests can run them against a database and assert on the output.
 */
import type { Scrapeguard } from '../client.js';
import type { BreakerMode } from '../breaker.js';
import { UnknownSourceError } from '../errors.js';
import * as fmt from './format.js';

interface SourceRow {
  id: string;
  name: string;
  [column: string]: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A source given by id or by exact name. */
export async function resolveSource(sg: Scrapeguard, ref: string): Promise<SourceRow> {
  const eq: Record<string, string> = UUID.test(ref) ? { id: ref } : { name: ref };
  const [row] = await sg.transport.select<SourceRow>('event_sources', { eq });
  if (!row) throw new UnknownSourceError({ code: 'SG001', message: `no event source ${JSON.stringify(ref)}` });
  return row;
}

export async function statusCommand(sg: Scrapeguard): Promise<string> {
  const rows = await sg.health.fleet();
  return fmt.table(
    ['source', 'breaker', 'failures', 'last run', 'last status', 'success 24h', `success last runs`, 'p95', 'coverage'],
    rows.map((r) => [
      r.source_name,
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

export async function breakerCommand(sg: Scrapeguard, action: 'force' | 'disable' | 'reset' | 'auto', ref: string): Promise<string> {
  const source = await resolveSource(sg, ref);
  const mode: BreakerMode | null = action === 'force' ? 'forced_open' : action === 'disable' ? 'disabled' : action === 'auto' ? 'auto' : null;
  const row = mode ? await sg.breaker.force(source.id, mode) : await sg.breaker.reset(source.id);
  return `${source.name}: breaker ${fmt.state(row.state)}`;
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
      String(r.error_message ?? ''),
    ]),
  );
}

interface LogRow {
  logged_at: string;
  level: string;
  message: string;
  metadata: unknown;
}

export async function logsCommand(sg: Scrapeguard, runId: string, level?: string, limit = 200): Promise<string> {
  const eq: Record<string, string> = { run_id: runId };
  if (level) eq.level = level;
  const rows = await sg.transport.select<LogRow>('scraping_logs', { eq, orderBy: { column: 'logged_at' }, limit });
  return fmt.table(
    ['time', 'level', 'message', 'metadata'],
    rows.map((r) => [fmt.time(r.logged_at), fmt.level(r.level), r.message, fmt.json(r.metadata)]),
  );
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
      r.actor ?? '',
    ]),
  );
}
