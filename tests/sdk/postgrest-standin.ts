/**
 * A PostgREST stand-in for contract tests: a `fetch` implementation that answers the
 * few request kinds the supabase-js transport and the tests send (RPC POSTs, table GETs
 * with eq / order / limit, table PATCHes with eq filters, table POSTs of one row or an
 * array) from the real test database, the way PostgREST does: the role and claims come
 * from the JWT in the Authorization header, the request's headers are given to the
 * transaction as request.headers (a JSON object of lower-case names, what PostgREST
 * sets), results are built with to_json/json_agg, errors come back as
 * {code, message, details, hint}.
 * It is not PostgREST (none can be installed here); it records every request so the
 * tests can assert the contract the transport relies on.
 */
import pg from 'pg';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

function claimsOf(authorization: string | undefined): Record<string, unknown> {
  const token = authorization?.replace(/^Bearer\s+/i, '') ?? '';
  const payload = token.split('.')[1];
  if (!payload) return { role: 'anon' };
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function makeJwt(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.signature-not-checked-by-the-stand-in`;
}

export class PostgrestStandIn {
  readonly requests: RecordedRequest[] = [];
  constructor(private readonly pool: pg.Pool) {}

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    const headers = Object.fromEntries(req.headers.entries());
    const text = req.method === 'GET' || req.method === 'HEAD' ? '' : await req.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    const path = url.pathname.replace(/^\/rest\/v1/, '');
    this.requests.push({ method: req.method, path, query: Object.fromEntries(url.searchParams), headers, body });
    const claims = claimsOf(headers.authorization);
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
                set_config('request.headers', $3, true), set_config('request.method', $4, true)`,
        [String(claims.role ?? 'anon'), JSON.stringify(claims), JSON.stringify(headers), req.method],
      );
      const json = path.startsWith('/rpc/')
        ? await this.rpc(client, path.slice(5), (body ?? {}) as Record<string, unknown>)
        : req.method === 'PATCH'
          ? await this.update(client, path.slice(1), url.searchParams, (body ?? {}) as Record<string, unknown>)
          : req.method === 'POST'
            ? await this.insert(client, path.slice(1), body)
            : await this.read(client, path.slice(1), url.searchParams);
      await client.query('commit');
      return new Response(JSON.stringify(json), { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      const e = err as { code?: string; message: string; detail?: string; hint?: string };
      const status = e.code === '42501' ? 403 : e.code === '42883' ? 404 : 400;
      return new Response(JSON.stringify({ code: e.code, message: e.message, details: e.detail ?? null, hint: e.hint ?? null }), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    } finally {
      client.release();
    }
  };

  private async rpc(client: pg.PoolClient, fn: string, args: Record<string, unknown>): Promise<unknown> {
    if (!IDENT.test(fn)) throw Object.assign(new Error('bad function name'), { code: '42883' });
    const shape = await client.query<{ retset: boolean; composite: boolean }>(
      `select p.proretset as retset, t.typtype = 'c' or p.proargmodes && array['t'::"char"] as composite
         from pg_proc p join pg_type t on t.oid = p.prorettype
        where p.pronamespace = 'public'::regnamespace and p.proname = $1 limit 1`,
      [fn],
    );
    const kind = shape.rows[0];
    if (!kind) throw Object.assign(new Error(`Could not find the function public.${fn}`), { code: '42883' });
    const names = Object.keys(args);
    if (!names.every((n) => IDENT.test(n))) throw Object.assign(new Error('bad argument name'), { code: '42883' });
    const call = `public.${fn}(${names.map((n, i) => `${n} => $${i + 1}`).join(', ')})`;
    const values = names.map((n) => {
      const v = args[n];
      return typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
    });
    const sql = kind.retset
      ? `select coalesce(json_agg(r), '[]') as j from ${call} r`
      : kind.composite
        ? `select case when r is null then null else to_json(r) end as j from ${call} r`
        : `select to_json(${call}) as j`;
    const res = await client.query<{ j: unknown }>(sql, values);
    return res.rows[0]?.j ?? null;
  }

  /** PATCH /table?col=eq.value: one UPDATE of the columns in the body, the rows changed as JSON. */
  private async update(
    client: pg.PoolClient,
    relation: string,
    params: URLSearchParams,
    body: Record<string, unknown>,
  ): Promise<unknown> {
    if (!IDENT.test(relation)) throw Object.assign(new Error('bad relation'), { code: '42P01' });
    const columns = Object.keys(body);
    if (columns.length === 0 || !columns.every((c) => IDENT.test(c))) throw new Error('bad columns');
    const values: unknown[] = [JSON.stringify(body)];
    const where: string[] = [];
    for (const [key, value] of params) {
      if (key === 'select') continue;
      if (!IDENT.test(key) || !value.startsWith('eq.')) throw new Error(`stand-in does not support filter ${key}=${value}`);
      values.push(value.slice(3));
      where.push(`t.${key}::text = $${values.length}`);
    }
    if (where.length === 0) throw Object.assign(new Error('UPDATE requires a WHERE clause'), { code: '21000' });
    const sql = `with changed as (
        update public.${relation} t set ${columns.map((c) => `${c} = b.${c}`).join(', ')}
          from json_populate_record(null::public.${relation}, $1::json) b
         where ${where.join(' and ')}
        returning t.*)
      select coalesce(json_agg(c), '[]') as j from changed c`;
    return (await client.query<{ j: unknown }>(sql, values)).rows[0]?.j ?? [];
  }

  /** POST /table with one object or an array: one INSERT of the columns given, the rows as JSON. */
  private async insert(client: pg.PoolClient, relation: string, body: unknown): Promise<unknown> {
    if (!IDENT.test(relation)) throw Object.assign(new Error('bad relation'), { code: '42P01' });
    const rows = (Array.isArray(body) ? body : [body]) as Record<string, unknown>[];
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    if (columns.length === 0 || !columns.every((c) => IDENT.test(c))) throw new Error('bad columns');
    const sql = `with added as (
        insert into public.${relation} (${columns.join(', ')})
        select ${columns.map((c) => `b.${c}`).join(', ')} from json_populate_recordset(null::public.${relation}, $1::json) b
        returning *)
      select coalesce(json_agg(a), '[]') as j from added a`;
    return (await client.query<{ j: unknown }>(sql, [JSON.stringify(rows)])).rows[0]?.j ?? [];
  }

  private async read(client: pg.PoolClient, relation: string, params: URLSearchParams): Promise<unknown> {
    if (!IDENT.test(relation)) throw Object.assign(new Error('bad relation'), { code: '42P01' });
    const where: string[] = [];
    const values: unknown[] = [];
    let order = '';
    let limit = '';
    for (const [key, value] of params) {
      if (key === 'select') continue;
      if (key === 'order') {
        const [col, dir] = value.split('.');
        if (!col || !IDENT.test(col)) throw new Error('bad order');
        order = ` order by ${col} ${dir === 'desc' ? 'desc' : 'asc'}`;
      } else if (key === 'limit') {
        limit = ` limit ${Number.parseInt(value, 10)}`;
      } else if (IDENT.test(key) && value.startsWith('eq.')) {
        values.push(value.slice(3));
        where.push(`${key}::text = $${values.length}`);
      } else {
        throw new Error(`stand-in does not support filter ${key}=${value}`);
      }
    }
    const sql = `select coalesce(json_agg(t), '[]') as j from (select * from public.${relation}${
      where.length ? ` where ${where.join(' and ')}` : ''
    }${order}${limit}) t`;
    return (await client.query<{ j: unknown }>(sql, values)).rows[0]?.j ?? [];
  }
}
