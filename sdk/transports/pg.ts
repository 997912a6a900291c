/**
 * Transport over node-postgres: a Pool (or a connection string we pool ourselves).
 * Workers and cron jobs next to the database use this one; it is also the only
 * transport that can attribute event revisions to a run inside a transaction.
 */
import pg from 'pg';
import { FUNCTION_RETURNS } from '../database.functions.js';
import { isConnectionError, ScrapeguardError, toScrapeguardError } from '../errors.js';
import type {
  ChangeContext,
  ChangeContextScope,
  FunctionName,
  RelationName,
  ResultShape,
  RowOf,
  RpcArgs,
  RpcResult,
  SelectOptions,
  Transport,
} from '../transport.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new TypeError(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/**
 * Same value shapes as PostgREST returns (JSON): timestamps as ISO-8601 text
 * ("2026-01-01T08:00:00.123456+00:00", microseconds kept), intervals as PostgreSQL
 * prints them ("01:00:00"), bigint/numeric as numbers.
 */
const DATE = 1082;
const INTERVAL = 1186;
const TIMESTAMP_TYPES = new Set([1114, 1184]); // timestamp, timestamptz
const NUMBER_TYPES = new Set([20, 1700]); // int8, numeric

function isoTimestamp(v: string): string {
  return v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === DATE || oid === INTERVAL) return (v: string) => v;
    if (TIMESTAMP_TYPES.has(oid)) return isoTimestamp;
    if (NUMBER_TYPES.has(oid)) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** JSON for objects and arrays (jsonb arguments), the value itself otherwise. */
function param(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return v;
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

class PgQueries {
  constructor(protected readonly db: Queryable) {}

  async rpc<F extends FunctionName>(fn: F, args: RpcArgs<F>): Promise<RpcResult<F>> {
    const shape = returnShape(fn);
    const given = args as Record<string, unknown>;
    const names = Object.keys(given).filter((k) => given[k] !== undefined);
    const call = `public.${ident(fn)}(${names.map((n, i) => `${ident(n)} => $${i + 1}`).join(', ')})`;
    // A composite result is expanded from a scalar call: `select * from fn()` would set
    // up a function scan per call (measured ~30 µs more in bench/breaker.ts).
    const sql =
      shape === 'scalar' || shape === 'void' || shape === 'values'
        ? `select ${call} as value`
        : shape === 'row'
          ? `select (r).* from (select ${call} as r offset 0) x`
          : `select * from ${call}`;
    let rows: Record<string, unknown>[];
    try {
      rows = (await this.db.query({ text: sql, values: names.map((n) => param(given[n])), types })).rows;
    } catch (err) {
      // One statement in its own transaction: if the connection died after it was sent and
      // no answer came, it may have committed.
      throw toScrapeguardError(err, { writeInFlight: true });
    }
    // The shapes follow the generated table; the types say the same (see RpcResult).
    if (shape === 'void') return undefined as RpcResult<F>;
    if (shape === 'scalar') return (rows[0]?.value ?? null) as RpcResult<F>;
    if (shape === 'row') return (isNullRow(rows[0]) ? null : rows[0]) as RpcResult<F>;
    if (shape === 'values') return rows.map((r) => r.value) as RpcResult<F>;
    return rows as RpcResult<F>;
  }

  async select<R extends RelationName>(relation: R, options: SelectOptions<RowOf<R>> = {}): Promise<RowOf<R>[]> {
    const values: unknown[] = [];
    const where = Object.entries(options.eq ?? {}).map(([col, v]) => {
      values.push(v);
      return `${ident(col)} = $${values.length}`;
    });
    let sql = `select * from public.${ident(relation)}`;
    if (where.length) sql += ` where ${where.join(' and ')}`;
    if (options.orderBy) sql += ` order by ${ident(options.orderBy.column)} ${options.orderBy.ascending === false ? 'desc' : 'asc'}`;
    if (options.limit !== undefined) sql += ` limit ${Math.max(0, Math.trunc(options.limit))}`;
    try {
      const res = await this.db.query({ text: sql, values, types });
      return res.rows as RowOf<R>[];
    } catch (err) {
      throw toScrapeguardError(err, { writeInFlight: false });
    }
  }
}

/**
 * How `fn` returns, from the generated table. A name that is not in it (a caller without
 * types, or a database newer than this SDK) is refused before any call, with the SQLSTATE
 * PostgreSQL gives an unknown function: its result could not be shaped.
 */
function returnShape(fn: string): ResultShape {
  if (!Object.hasOwn(FUNCTION_RETURNS, fn)) {
    throw new ScrapeguardError({
      code: '42883',
      message: `public.${String(fn)} is not a function this version of scrapeguard knows`,
    });
  }
  return FUNCTION_RETURNS[fn as FunctionName].shape;
}

/** A function returning a composite yields one all-null row for "no row". */
function isNullRow(row: Record<string, unknown> | undefined): boolean {
  return !row || Object.values(row).every((v) => v === null);
}

export interface PgTransportOptions {
  /** An existing pool (not closed by `close()`), or a connection string (pooled here, closed by `close()`). */
  pool?: pg.Pool;
  connectionString?: string;
  /** Pool size when the transport creates the pool. */
  max?: number;
  /**
   * Called with errors of idle pooled connections (the server restarted, a backend was
   * terminated). The pool has already discarded the connection; the next call opens a new one.
   * Default: ignored (the error is kept in `lastConnectionError`).
   */
  onConnectionError?: (error: Error) => void;
}

export class PgTransport extends PgQueries implements Transport {
  private readonly ownsPool: boolean;
  /** The last error of an idle or checked-out connection that died (the calls themselves reject with ConnectionLostError). */
  lastConnectionError: Error | undefined;
  private readonly onConnectionError: ((error: Error) => void) | undefined;

  constructor(options: PgTransportOptions) {
    const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10 });
    super(pool);
    this.ownsPool = !options.pool;
    if (!options.pool && !options.connectionString) throw new TypeError('PgTransport needs a pool or a connectionString');
    this.onConnectionError = options.onConnectionError;
    // An idle pooled connection that dies emits 'error' on the pool; with no listener Node
    // would crash the process. The pool drops that connection by itself.
    pool.on('error', (err) => this.connectionError(err));
  }

  private connectionError(err: Error): void {
    this.lastConnectionError = err;
    try {
      this.onConnectionError?.(err);
    } catch {
      // A listener's own failure must not become an unhandled 'error' event.
    }
  }

  get pool(): pg.Pool {
    return this.db as pg.Pool;
  }

  /**
   * One transaction on one pooled connection. The connection carries an 'error' listener
   * while it is checked out (a backend terminated between statements sends its FATAL with
   * no query to receive it). When the connection dies, the call rejects with
   * ConnectionLostError (`mayHaveCommitted` only when it died during COMMIT without an
   * answer) and the connection is released as broken, so the pool replaces it.
   */
  async withChangeContext<T>(context: ChangeContext, fn: (tx: ChangeContextScope) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toScrapeguardError(err, { writeInFlight: false });
    }
    let died: Error | undefined;
    const onError = (err: Error) => {
      died ??= err;
      this.connectionError(err);
    };
    client.on('error', onError);
    let committing = false;
    try {
      await client.query('begin');
      await client.query('select public.set_change_context($1, $2)', [context.runId, context.actor ?? null]);
      const scope: ChangeContextScope = {
        query: async <R extends Record<string, unknown>>(text: string, values?: unknown[]) => {
          try {
            return (await client.query<R>({ text, values: values?.map(param) ?? [], types })).rows;
          } catch (err) {
            // Inside the open transaction nothing is committed yet.
            throw toScrapeguardError(err, { writeInFlight: false });
          }
        },
      };
      const result = await fn(scope);
      committing = true;
      await client.query('commit');
      return result;
    } catch (err) {
      if (died === undefined && isConnectionError(err)) died = err as Error;
      if (died === undefined) {
        await client.query('rollback').catch((rollbackError: unknown) => {
          died = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
      }
      if (died !== undefined && !(err instanceof Error && isConnectionError(err))) {
        // The connection died under an error of another kind (say the caller's own): that
        // error is what the caller sees; the connection is still discarded below.
        throw toScrapeguardError(err, { writeInFlight: false });
      }
      throw toScrapeguardError(err, { writeInFlight: committing });
    } finally {
      if (died !== undefined) {
        // Keep the listener: a dead socket can still emit 'error' until the pool has ended it.
        client.release(died);
      } else {
        client.removeListener('error', onError);
        client.release();
      }
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}
