/**
 * Transport over node-postgres: a Pool (or a connection string we pool ourselves).
 * Workers and cron jobs next to the database use this one; it is also the only
 * transport that can attribute event revisions to a run inside a transaction.
 */
import pg from 'pg';
import { toScrapeguardError } from '../errors.js';
import type { ChangeContext, ChangeContextScope, ReturnShape, RpcArgs, SelectOptions, Transport } from '../transport.js';

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

  async rpc<T>(fn: string, args: RpcArgs, shape: ReturnShape): Promise<T> {
    const names = Object.keys(args).filter((k) => args[k] !== undefined);
    const call = `public.${ident(fn)}(${names.map((n, i) => `${ident(n)} => $${i + 1}`).join(', ')})`;
    // A composite result is expanded from a scalar call: `select * from fn()` would set
    // up a function scan per call (measured ~30 µs more in bench/breaker.ts).
    const sql =
      shape === 'scalar'
        ? `select ${call} as value`
        : shape === 'row'
          ? `select (r).* from (select ${call} as r offset 0) x`
          : `select * from ${call}`;
    try {
      const res = await this.db.query({ text: sql, values: names.map((n) => param(args[n])), types });
      if (shape === 'scalar') return (res.rows[0]?.value ?? null) as T;
      if (shape === 'row') return (isNullRow(res.rows[0]) ? null : res.rows[0]) as T;
      return res.rows as T;
    } catch (err) {
      throw toScrapeguardError(err);
    }
  }

  async select<T>(relation: string, options: SelectOptions = {}): Promise<T[]> {
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
      return res.rows as T[];
    } catch (err) {
      throw toScrapeguardError(err);
    }
  }
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
}

export class PgTransport extends PgQueries implements Transport {
  private readonly ownsPool: boolean;

  constructor(options: PgTransportOptions) {
    const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10 });
    super(pool);
    this.ownsPool = !options.pool;
    if (!options.pool && !options.connectionString) throw new TypeError('PgTransport needs a pool or a connectionString');
  }

  get pool(): pg.Pool {
    return this.db as pg.Pool;
  }

  async withChangeContext<T>(context: ChangeContext, fn: (tx: ChangeContextScope) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      await client.query('select public.set_change_context($1, $2)', [context.runId, context.actor ?? null]);
      const scope: ChangeContextScope = {
        query: async <R extends Record<string, unknown>>(text: string, values?: unknown[]) =>
          (await client.query<R>({ text, values: values?.map(param) ?? [], types })).rows,
      };
      const result = await fn(scope);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw toScrapeguardError(err);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}
