/**
 * The one seam between the SDK and a database: call an RPC with named arguments,
 * read rows of a table or view. Implemented over `pg` and over supabase-js.
 *
 * Both are typed by the generated schema (sdk/database.types.ts, sdk/database.functions.ts,
 * written by `npm run typegen`): the function or relation name picks the argument and
 * result types, and the result shape comes from the function itself.
 *
 *     const [permit] = await transport.rpc('acquire_permit', { source_id, worker });
 *     const row = await transport.rpc('record_failure', { source_id, error }); // row | null
 *     const id = await transport.rpc('start_run', { source_id, engine });       // string
 *     const runs = await transport.select('scraping_runs', { eq: { source_id }, limit: 5 });
 *
 * Results follow PostgREST's shapes, so both transports agree:
 *  - a function returning a scalar → that value;
 *  - returning one composite row → an object (or null);
 *  - returning a set of rows or a table → an array of objects;
 *  - returning a set of scalars → an array of values.
 * An argument that has a default may be left out (the default applies) or given as null
 * (SQL NULL). Columns of RETURNS TABLE / OUT parameters are typed nullable: PostgreSQL
 * never constrains them. A function a migration adds or changes is callable, with its
 * new arguments, once `npm run typegen` has rewritten both generated files.
 */
import type { FUNCTION_RETURNS } from './database.functions.js';
import type { Database } from './database.types.js';

type PublicSchema = Database['public'];
type Functions = PublicSchema['Functions'];
type Relations = PublicSchema['Tables'] & PublicSchema['Views'];

/** A function of the public schema that the SDK knows how to call. */
export type FunctionName = keyof Functions & keyof typeof FUNCTION_RETURNS;

/** Every way a function can return, as the transports shape it (see the list above). */
export type ResultShape = 'rows' | 'values' | 'row' | 'scalar' | 'void';

/** How `fn` returns. */
export type ReturnShape<F extends FunctionName = FunctionName> = (typeof FUNCTION_RETURNS)[F]['shape'];

/** The named arguments of `fn`; those with a default are optional and may be null. */
export type RpcArgs<F extends FunctionName> = {
  [K in keyof Functions[F]['Args']]: undefined extends Functions[F]['Args'][K]
    ? Functions[F]['Args'][K] | null
    : Functions[F]['Args'][K];
};

type ElementOf<R> = R extends readonly (infer E)[] ? E : R;
type NullableColumns<Row> = { [K in keyof Row]: Row[K] | null };
type Composite<F extends FunctionName, Row> = (typeof FUNCTION_RETURNS)[F]['columns'] extends 'declared'
  ? NullableColumns<Row>
  : Row;

/** One row of a function returning a composite or a set (its element). */
export type FunctionRow<F extends FunctionName> = Composite<F, ElementOf<Functions[F]['Returns']>>;

/** What `rpc(fn, …)` resolves to ('values': the generated array of values). */
export type RpcResult<F extends FunctionName> = ReturnShape<F> extends 'rows'
  ? FunctionRow<F>[]
  : ReturnShape<F> extends 'row'
    ? FunctionRow<F> | null
    : ReturnShape<F> extends 'void'
      ? undefined
      : Functions[F]['Returns'];

/** A table or view of the public schema. */
export type RelationName = keyof Relations & string;

/** A row of a table or view. */
export type RowOf<R extends RelationName> = Relations[R] extends { Row: infer Row } ? Row : never;

export interface SelectOptions<Row = Record<string, unknown>> {
  /** Equality filters: column → value. */
  eq?: { [K in keyof Row]?: Extract<Row[K], string | number | boolean> };
  orderBy?: { column: keyof Row & string; ascending?: boolean };
  limit?: number;
}

export interface Transport {
  rpc<F extends FunctionName>(fn: F, args: RpcArgs<F>): Promise<RpcResult<F>>;
  select<R extends RelationName>(relation: R, options?: SelectOptions<RowOf<R>>): Promise<RowOf<R>[]>;
  /**
   * Run `fn` in one transaction where revisions of `events` are attributed to
   * `runId`/`actor` (public.set_change_context). Only the pg transport can hold a
   * transaction across calls; the supabase-js transport rejects it.
   */
  withChangeContext<T>(context: ChangeContext, fn: (tx: ChangeContextScope) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface ChangeContext {
  runId: string | null;
  actor?: string | null;
}

/** What runs inside a change-context transaction: plain SQL on the same connection. */
export interface ChangeContextScope {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
}
