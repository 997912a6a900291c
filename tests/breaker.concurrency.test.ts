/**
 * The circuit breaker under real concurrency: 16 connections × ≥ 500 mixed calls on
 * one source, with the shared clock frozen and moved by a 17th connection.
 *
 * Every write of a breaker row increments its `version`, and every call returns the
 * row it wrote or read, so the calls' results put all writes in their serial order.
 * An independent model of the state table (docs/database.md) replays that order and must
 * reproduce every returned row and the transitions table exactly: nothing lost,
 * nothing doubled, exactly one transition per threshold crossing, exactly one probe
 * per half-open window. With workers: eight connections, one of them failing always,
 * against a quorum of 2 (it never opens the breaker alone) and of 1 (it does), and with
 * a second worker failing too (the breaker opens; every trip names ≥ 2 workers).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { prng } from '../scripts/lib/prng.js';
import { useTestDatabase, type TestDatabase } from './support/db.js';

const WORKERS = 16;
const CALLS_PER_WORKER = 500;
const THRESHOLD = 3;
const BASE_S = 3600;
const CAP_S = 24 * 3600;
const LEASE_S = 300;


interface Row {
  state: string;
  failure_count: number;
  opened_count: number;
  open_until: Date | null;
  probe_id: string | null;
  probe_lease_until: Date | null;
  version: number;
  updated_at: Date;
  streak_workers: (string | null)[];
}

interface Permit {
  worker: number;
  allowed: boolean;
  state: string;
  probe_id: string | null;
  retry_at: Date | null;
}

interface Result {
  worker: number;
  kind: 'success' | 'failure';
  sentProbe: string | null;
  row: Row;
}

interface Transition {
  id: number;
  from_state: string;
  to_state: string;
  reason: string;
  failure_count: number;
  opened_count: number;
  open_until: Date | null;
  probe_id: string | null;
  workers: (string | null)[] | null;
  version: number;
  at: Date;
}

const ROW_COLUMNS = `(r).state::text as state, (r).failure_count::int as failure_count,
  (r).opened_count::int as opened_count, (r).open_until, (r).probe_id, (r).probe_lease_until,
  (r).version::int as version, (r).updated_at, (r).streak_workers::text[] as streak_workers`;

const SQL = {
  permit: 'select allowed, state, probe_id, retry_at from public.acquire_permit($1, $2)',
  success: `select ${ROW_COLUMNS} from (select public.record_success($1, $2) r offset 0) x`,
  failure: `select ${ROW_COLUMNS} from (select public.record_failure($1, $2, $3, $4) r offset 0) x`,
};

async function permit(c: pg.Client, source: string, worker: number): Promise<Permit> {
  const r = await c.query<Omit<Permit, 'worker'>>({ name: 'permit', text: SQL.permit, values: [source, `w${worker}`] });
  return { worker, ...(r.rows[0] as Omit<Permit, 'worker'>) };
}

async function record(
  c: pg.Client,
  source: string,
  worker: number,
  kind: 'success' | 'failure',
  probe: string | null,
): Promise<Result> {
  const r =
    kind === 'success'
      ? await c.query<Row>({ name: 'success', text: SQL.success, values: [source, probe] })
      : await c.query<Row>({ name: 'failure', text: SQL.failure, values: [source, `w${worker} failed`, probe, `w${worker}`] });
  return { worker, kind, sentProbe: probe, row: r.rows[0] as Row };
}

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);

/**
 * The state table of the circuit breaker (docs/database.md), with the quorum: the
 * independent model the database must agree with. A failure joins its worker to the
 * streak (distinct names, at most 16); a closed breaker opens when the streak reaches
 * the threshold and has at least `quorum` distinct workers; a success that resets the
 * count empties the streak. With quorum 1 this is exactly the model without workers.
 */
interface Model {
  state: string;
  failure_count: number;
  opened_count: number;
  open_until: number | null;
  probe_id: string | null;
  probe_lease_until: number | null;
  streak_workers: (string | null)[];
}

function openFor(level: number): number {
  return Math.min(BASE_S * 2 ** (level - 1), CAP_S) * 1000;
}

interface ExpectedTransition {
  from_state: string;
  to_state: string;
  reason: string;
  failure_count: number;
  opened_count: number;
  open_until: number | null;
  probe_id: string | null;
  workers: (string | null)[] | null;
  version: number;
}

function joinStreak(m: Model, worker: string | null): void {
  if (!m.streak_workers.includes(worker) && m.streak_workers.length < 16) m.streak_workers.push(worker);
}

/** Apply a failure at time t (ms); returns the transition it makes, if any. */
function applyFailure(m: Model, probe: string | null, t: number, worker: string | null, quorum: number): string | null {
  if (m.state === 'closed') {
    m.failure_count += 1;
    joinStreak(m, worker);
    if (m.failure_count >= THRESHOLD && m.streak_workers.length >= quorum) {
      m.state = 'open';
      m.opened_count = 1;
      m.open_until = t + openFor(1);
      return 'failure_threshold';
    }
    return null;
  }
  if (m.state === 'half_open' && probe !== null && probe === m.probe_id) {
    m.state = 'open';
    m.failure_count += 1;
    joinStreak(m, worker);
    m.opened_count += 1;
    m.open_until = t + openFor(m.opened_count);
    m.probe_id = null;
    m.probe_lease_until = null;
    return 'probe_failed';
  }
  m.failure_count += 1; // a late result: counted, no transition
  joinStreak(m, worker);
  return null;
}

/** Apply a success that wrote; returns the transition it makes, if any. */
function applySuccess(m: Model, probe: string | null): string | null {
  if (m.state === 'half_open' && probe !== null && probe === m.probe_id) {
    m.state = 'closed';
    m.failure_count = 0;
    m.opened_count = 0;
    m.probe_id = null;
    m.probe_lease_until = null;
    m.streak_workers = [];
    return 'probe_succeeded';
  }
  if (m.state === 'closed') {
    m.failure_count = 0;
    m.streak_workers = [];
  }
  return null; // open/half_open: late result, recorded, no transition
}

function view(m: Model): Model {
  return { ...m, streak_workers: [...m.streak_workers] };
}

function rowView(r: Row): Model {
  return {
    state: r.state,
    failure_count: r.failure_count,
    opened_count: r.opened_count,
    open_until: ms(r.open_until),
    probe_id: r.probe_id,
    probe_lease_until: ms(r.probe_lease_until),
    streak_workers: r.streak_workers,
  };
}

/** How one worker behaves in a chaos run. */
interface Behaviour {
  /** Chance that an allowed call (not a probe) fails; 1 = always. */
  failP: number;
  /** Chance that an allowed call reports its outcome at all (else it only asked for a permit). */
  reportP: number;
}

interface ChaosRun {
  permits: Permit[];
  results: Result[];
  transitions: Transition[];
  finalRow: Row;
}

/**
 * Workers in random interleavings on one source: permits, results (probes' and late
 * ones), "crashed" probes, while another connection moves the shared clock past
 * open_until and past probe leases. Every failure names its worker (w0, w1, …).
 */
async function runChaos(
  workers: pg.Client[],
  admin: pg.Client,
  source: string,
  behaviour: (w: number) => Behaviour,
  calls: number,
  seed: number,
): Promise<ChaosRun> {
  const permits: Permit[] = [];
  const results: Result[] = [];
  const errors: unknown[] = [];
  const n = workers.length - 1;
  const done = new Array<number>(n).fill(0);
  let running = true;

  const runWorker = async (c: pg.Client, w: number): Promise<void> => {
    const rand = prng(seed + w);
    const { failP, reportP } = behaviour(w);
    // Probes and late results: half fail, unless the worker always or never fails.
    const probeFailP = failP >= 1 ? 1 : failP > 0 ? 0.5 : 0;
    const oldProbes: string[] = [];
    while (done[w]! < calls) {
      const p = await permit(c, source, w);
      done[w]! += 1;
      permits.push(p);
      if (p.allowed && p.probe_id) {
        if (rand() < 0.15) {
          oldProbes.push(p.probe_id); // "crash": never report (until much later, below)
          continue;
        }
        results.push(await record(c, source, w, rand() < probeFailP ? 'failure' : 'success', p.probe_id));
      } else if (p.allowed) {
        if (reportP < 1 && rand() >= reportP) continue;
        results.push(await record(c, source, w, rand() < failP ? 'failure' : 'success', null));
      } else if (rand() < 0.12) {
        // A late result of an old call, sometimes carrying a superseded probe id.
        const probe = oldProbes.length > 0 && rand() < 0.5 ? (oldProbes.shift() as string) : null;
        results.push(await record(c, source, w, rand() < probeFailP ? 'failure' : 'success', probe));
      } else {
        continue;
      }
      done[w]! += 1;
    }
  };

  // The last connection moves the shared clock: past open_until when the breaker is
  // open (after letting some late results in), past the lease now and then.
  const driver = async (c: pg.Client): Promise<void> => {
    const rand = prng(seed + 99);
    while (running) {
      await new Promise((r) => setTimeout(r, 2 + Math.floor(rand() * 4)));
      const s = await c.query<{ state: string }>('select state from public.circuit_breaker_state where source_id = $1', [
        source,
      ]);
      const state = s.rows[0]?.state;
      if (state === 'open' && rand() < 0.5) {
        await c.query(
          `select scrapeguard.advance_clock(greatest(s.open_until - scrapeguard.clock(), interval '0') + interval '1 second')
             from public.circuit_breaker_state s where s.source_id = $1 and s.state = 'open'`,
          [source],
        );
      } else if (state === 'half_open' && rand() < 0.25) {
        await c.query(`select scrapeguard.advance_clock(interval '301 seconds')`);
      }
    }
  };

  const driving = driver(workers[n] as pg.Client).catch((e: unknown) => errors.push(e));
  await Promise.all(workers.slice(0, n).map((c, w) => runWorker(c, w).catch((e: unknown) => errors.push(e))));
  running = false;
  await driving;

  // No deadlock, serialization failure or any other error reached a caller.
  expect(errors).toEqual([]);
  expect(done.every((k) => k >= calls)).toBe(true);

  const transitions = (
    await admin.query<Transition>(
      `select id::int, from_state::text, to_state::text, reason, failure_count::int, opened_count::int,
              open_until, probe_id, workers::text[] as workers, version::int, at
         from public.circuit_breaker_transitions where source_id = $1 order by id`,
      [source],
    )
  ).rows;
  const finalRow = (
    await admin.query<Row>(
      `select ${ROW_COLUMNS} from (select s r from public.circuit_breaker_state s where s.source_id = $1 offset 0) x`,
      [source],
    )
  ).rows[0] as Row;
  return { permits, results, transitions, finalRow };
}

interface Replay {
  expected: ExpectedTransition[];
  crossings: number;
  lateResults: number;
}

/**
 * Puts every write in its serial order (by the row version each call returned) and
 * replays it on the model: every returned row, the final row and the transitions table
 * must be exactly the model's; one transition per threshold crossing, one probe per
 * half-open window, denials with the right retry_at.
 */
function replay(run: ChaosRun, quorum: number): Replay {
  const { permits, results, transitions, finalRow } = run;
  const grants = transitions.filter((t) => t.reason === 'open_expired' || t.reason === 'probe_lease_expired');
  const grantByVersion = new Map(grants.map((g) => [g.version, g]));
  const failuresByVersion = new Map<number, Result[]>();
  const successesByVersion = new Map<number, Result[]>();
  for (const r of results) {
    const m = r.kind === 'failure' ? failuresByVersion : successesByVersion;
    m.set(r.row.version, [...(m.get(r.row.version) ?? []), r]);
  }
  // Failures always write, so no two share a version.
  for (const [v, fs] of failuresByVersion) expect(fs.length, `failures with version ${v}`).toBe(1);

  const model: Model = {
    state: 'closed',
    failure_count: 0,
    opened_count: 0,
    open_until: null,
    probe_id: null,
    probe_lease_until: null,
    streak_workers: [],
  };
  const expected: ExpectedTransition[] = [];
  const note = (from: string, reason: string | null, version: number, probe: string | null): void => {
    if (!reason) return;
    const opens = reason === 'failure_threshold' || reason === 'probe_failed';
    expected.push({
      from_state: from,
      to_state: model.state,
      reason,
      failure_count: model.failure_count,
      opened_count: model.opened_count,
      open_until: model.open_until,
      probe_id: probe,
      workers: opens ? [...model.streak_workers] : null,
      version,
    });
  };

  let crossings = 0;
  let lateResults = 0;
  for (let v = 2; v <= finalRow.version; v += 1) {
    const from = model.state;
    const grant = grantByVersion.get(v);
    const failure = failuresByVersion.get(v)?.[0];
    const successes = successesByVersion.get(v) ?? [];
    const writers = (grant ? 1 : 0) + (failure ? 1 : 0);
    expect(writers, `version ${v}: at most one grant or failure`).toBeLessThanOrEqual(1);
    let returned: Row | null = null;
    if (grant) {
      const t = grant.at.getTime();
      if (model.state === 'open') {
        expect(model.open_until, `version ${v}: probe granted only once open_until has passed`).not.toBeNull();
        expect(t).toBeGreaterThanOrEqual(model.open_until as number);
        expect(grant.reason).toBe('open_expired');
      } else {
        expect(model.state, `version ${v}: a probe is granted from open or half_open`).toBe('half_open');
        expect(t, `version ${v}: a second probe only after the lease expired`).toBeGreaterThanOrEqual(
          model.probe_lease_until as number,
        );
        expect(grant.reason).toBe('probe_lease_expired');
      }
      model.state = 'half_open';
      model.open_until = null;
      model.probe_id = grant.probe_id;
      model.probe_lease_until = t + LEASE_S * 1000;
      note(from, grant.reason, v, grant.probe_id);
    } else if (failure) {
      const wasClosed = model.state === 'closed';
      const reason = applyFailure(model, failure.sentProbe, failure.row.updated_at.getTime(), `w${failure.worker}`, quorum);
      if (reason === 'failure_threshold') crossings += 1;
      if (!reason && !wasClosed) lateResults += 1;
      note(from, reason, v, reason === 'probe_failed' ? failure.sentProbe : null);
      returned = failure.row;
    } else {
      // The writer is one of the successes that returned this version; the row
      // they returned says which effect it had, and it must be a legal one.
      expect(successes.length, `version ${v}: some call wrote it`).toBeGreaterThan(0);
      returned = (successes[0] as Result).row;
      if (model.state === 'half_open' && returned.state === 'closed') {
        const prober = successes.find((s) => s.sentProbe === model.probe_id);
        expect(prober, `version ${v}: closed only by the probe's own success`).toBeDefined();
        note(from, applySuccess(model, model.probe_id), v, prober?.sentProbe ?? null);
      } else {
        if (model.state === 'closed') {
          expect(model.failure_count, `version ${v}: a success writes only if there were failures`).toBeGreaterThan(0);
        } else {
          // Open/half-open: each success writes (a version of its own) and, not
          // carrying the live probe's id, must not have closed the breaker.
          expect(successes.length, `version ${v}: one writer`).toBe(1);
          expect(model.state === 'half_open' && (successes[0] as Result).sentProbe === model.probe_id).toBe(false);
          lateResults += 1;
        }
        expect(applySuccess(model, null)).toBeNull();
      }
    }
    // Everything that returned this version saw exactly the model's row.
    for (const r of [...(failure ? [failure] : []), ...successes]) {
      expect(rowView(r.row), `version ${v}`).toEqual(view(model));
    }
    if (returned === null && successes.length > 0) {
      expect(model.state === 'closed' && model.failure_count === 0, `version ${v}: no-write successes`).toBe(true);
    }
  }
  expect(rowView(finalRow)).toEqual(view(model));

  // No result claims a version that does not exist, and successes that wrote nothing
  // saw a closed breaker without failures.
  for (const r of results) expect(r.row.version).toBeLessThanOrEqual(finalRow.version);
  const v1 = successesByVersion.get(1) ?? [];
  for (const s of v1) expect(s.row.state === 'closed' && s.row.failure_count === 0).toBe(true);

  // ---- the transitions table is exactly the model's ----------------------------
  expect(
    transitions.map((t) => ({
      from_state: t.from_state,
      to_state: t.to_state,
      reason: t.reason,
      failure_count: t.failure_count,
      opened_count: t.opened_count,
      open_until: ms(t.open_until),
      probe_id: t.probe_id,
      workers: t.workers,
      version: t.version,
    })),
  ).toEqual(expected);

  // Exactly one transition per threshold crossing, each with the quorum.
  const trips = transitions.filter((t) => t.reason === 'failure_threshold');
  expect(trips.length).toBe(crossings);
  expect(trips.every((t) => t.failure_count >= THRESHOLD && t.from_state === 'closed')).toBe(true);
  expect(trips.every((t) => (t.workers ?? []).length >= quorum)).toBe(true);

  // Exactly one probe per half-open window: every probe a caller received is one
  // grant transition, and vice versa.
  const received = permits.filter((p) => p.probe_id !== null).map((p) => p.probe_id as string);
  expect(new Set(received).size).toBe(received.length);
  expect([...received].sort()).toEqual(grants.map((g) => g.probe_id as string).sort());
  expect(permits.filter((p) => p.allowed && p.probe_id === null).every((p) => p.state === 'closed')).toBe(true);

  // Denials carry the right retry_at: an open_until or a lease end the model produced.
  const opens = new Set(expected.filter((t) => t.open_until !== null).map((t) => t.open_until));
  const leases = new Set(grants.map((g) => g.at.getTime() + LEASE_S * 1000));
  for (const p of permits.filter((x) => !x.allowed)) {
    if (p.state === 'open') expect(opens.has(ms(p.retry_at))).toBe(true);
    else {
      expect(p.state).toBe('half_open');
      expect(leases.has(ms(p.retry_at) ?? Number.NaN)).toBe(true);
    }
  }
  return { expected, crossings, lateResults };
}

const byReason = (transitions: Transition[], r: string): number => transitions.filter((t) => t.reason === r).length;

describe('circuit breaker under concurrency (16 connections × 500 calls on one source)', () => {
  let db: TestDatabase;
  let admin: pg.Client;
  const workers: pg.Client[] = [];

  beforeAll(async () => {
    db = await useTestDatabase();
    admin = await db.client();
    for (let i = 0; i < WORKERS + 1; i += 1) workers.push(await db.client());
  });

  afterAll(async () => {
    await admin?.query('select scrapeguard.reset_clock()').catch(() => undefined);
  });

  async function newSource(name: string): Promise<string> {
    const r = await admin.query<{ id: string }>(
      `insert into public.event_sources (name, base_url) values ($1, 'https://example.com/' || $1) returning id`,
      [name],
    );
    return (r.rows[0] as { id: string }).id;
  }

  test('concurrent failures are all counted: no lost or doubled update', async () => {
    const source = await newSource('counting');
    await admin.query('select public.configure_breaker($1, failure_threshold => 1000000000)', [source]);
    await admin.query(`select scrapeguard.freeze_clock('2026-09-01 00:00:00+00', force => true)`);

    const failures: Result[] = [];
    const permits: Permit[] = [];
    await Promise.all(
      workers.slice(0, WORKERS).map(async (c, w) => {
        const rand = prng(1000 + w);
        for (let i = 0; i < CALLS_PER_WORKER; i += 1) {
          if (rand() < 0.75) failures.push(await record(c, source, w, 'failure', null));
          else permits.push(await permit(c, source, w));
        }
      }),
    );

    expect(failures.length + permits.length).toBe(WORKERS * CALLS_PER_WORKER);
    const counts = failures.map((f) => f.row.failure_count).sort((a, b) => a - b);
    expect(counts).toEqual(Array.from({ length: failures.length }, (_, i) => i + 1));
    const final = await admin.query<{ failure_count: number; version: string }>(
      'select failure_count, version from public.circuit_breaker_state where source_id = $1',
      [source],
    );
    expect(final.rows[0]?.failure_count).toBe(failures.length);
    expect(Number(final.rows[0]?.version)).toBe(failures.length + 1); // + the configure_breaker write
    expect(permits.every((p) => p.allowed && p.state === 'closed' && p.probe_id === null)).toBe(true);
    const t = await admin.query('select count(*)::int n from public.circuit_breaker_transitions where source_id = $1', [source]);
    expect(t.rows[0].n).toBe(0);
  }, 180_000);


  test('mixed permits, results, probes, late results and clock moves (quorum 1): the database agrees with the model exactly', async () => {
    const source = await newSource('chaos');
    await admin.query('select public.configure_breaker($1, jitter => 0)', [source]);
    await admin.query(`select scrapeguard.freeze_clock('2026-09-02 00:00:00+00', force => true)`);
    const run = await runChaos(workers, admin, source, () => ({ failP: 0.55, reportP: 1 }), CALLS_PER_WORKER, 2000);
    const { lateResults } = replay(run, 1);
    const { transitions, permits, results, finalRow } = run;

    // The run exercised every edge of the state table many times.
    expect(byReason(transitions, 'failure_threshold')).toBeGreaterThanOrEqual(5);
    expect(byReason(transitions, 'open_expired')).toBeGreaterThanOrEqual(5);
    expect(byReason(transitions, 'probe_lease_expired')).toBeGreaterThanOrEqual(1);
    expect(byReason(transitions, 'probe_succeeded')).toBeGreaterThanOrEqual(2);
    expect(byReason(transitions, 'probe_failed')).toBeGreaterThanOrEqual(2);
    expect(lateResults).toBeGreaterThanOrEqual(10);
    // Quorum 1: every trip is at the threshold exactly, as without workers.
    expect(transitions.filter((t) => t.reason === 'failure_threshold').every((t) => t.failure_count === THRESHOLD)).toBe(true);
    console.log(
      `breaker chaos: ${permits.length} permits, ${results.length} results, ${transitions.length} transitions ` +
        `(${['failure_threshold', 'open_expired', 'probe_lease_expired', 'probe_succeeded', 'probe_failed']
          .map((r) => `${r} ${byReason(transitions, r)}`)
          .join(', ')}), ${lateResults} late results, final version ${finalRow.version}`,
    );
  }, 300_000);

  // Eight workers; w0 always fails (a banned IP), the others succeed but mostly only ask
  // for permits, so w0 builds streaks far past the threshold between their successes.
  const badWorkerAlone = (w: number): { failP: number; reportP: number } =>
    w === 0 ? { failP: 1, reportP: 1 } : { failP: 0, reportP: 0.03 };

  test('quorum 2: one always-failing worker among 8 never opens the breaker alone (and quorum 1 does)', async () => {
    const eight = [...workers.slice(0, 8), workers[WORKERS] as pg.Client];
    await admin.query(`select scrapeguard.freeze_clock('2026-09-03 00:00:00+00', force => true)`);
    const quorum2 = await newSource('bad worker, quorum 2');
    await admin.query('select public.configure_breaker($1, jitter => 0, min_failing_workers => 2)', [quorum2]);
    const run = await runChaos(eight, admin, quorum2, badWorkerAlone, 300, 3000);
    replay(run, 2);
    expect(run.transitions).toEqual([]);
    const failures = run.results.filter((r) => r.kind === 'failure');
    expect(failures.every((f) => f.worker === 0 && f.row.state === 'closed')).toBe(true);
    expect(run.results.every((r) => r.row.streak_workers.every((w) => w === 'w0'))).toBe(true);
    // Not vacuous: w0 reached the threshold (and went far past it) many times.
    expect(failures.filter((f) => f.row.failure_count >= THRESHOLD).length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...failures.map((f) => f.row.failure_count))).toBeGreaterThanOrEqual(3 * THRESHOLD);

    // The same fleet on a breaker with quorum 1 (the default): w0 alone opens it.
    const quorum1 = await newSource('bad worker, quorum 1');
    await admin.query('select public.configure_breaker($1, jitter => 0)', [quorum1]);
    const alone = await runChaos(eight, admin, quorum1, badWorkerAlone, 300, 3000);
    replay(alone, 1);
    const trips = alone.transitions.filter((t) => t.reason === 'failure_threshold');
    expect(trips.length).toBeGreaterThanOrEqual(1);
    expect(trips.every((t) => JSON.stringify(t.workers) === '["w0"]')).toBe(true);
  }, 300_000);

  test('quorum 2: the breaker opens when a second worker fails in the streak; the model agrees exactly', async () => {
    const eight = [...workers.slice(0, 8), workers[WORKERS] as pg.Client];
    await admin.query(`select scrapeguard.freeze_clock('2026-09-04 00:00:00+00', force => true)`);
    const source = await newSource('bad worker and a flaky site, quorum 2');
    await admin.query('select public.configure_breaker($1, jitter => 0, min_failing_workers => 2)', [source]);
    const run = await runChaos(
      eight,
      admin,
      source,
      (w) => (w === 0 ? { failP: 1, reportP: 1 } : { failP: 0.3, reportP: 0.5 }),
      300,
      4000,
    );
    replay(run, 2);
    const trips = run.transitions.filter((t) => t.reason === 'failure_threshold');
    expect(trips.length).toBeGreaterThanOrEqual(2);
    // Every trip names at least two distinct workers.
    for (const t of trips) expect(new Set(t.workers).size).toBeGreaterThanOrEqual(2);
    expect(byReason(run.transitions, 'open_expired')).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
