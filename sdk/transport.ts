/**
 * The one seam between the SDK and a database: call an RPC with named arguments,
 * read rows of a table or view. Implemented over `pg` and over supabase-js.
 *
 * Results follow PostgREST's shapes, so both transports agree:
 *  - a function returning a scalar → that value;
 *  - returning one composite row → an object (or null);
 *  - returning a set or a table → an array of objects.
 */

export type RpcArgs = Record<string, unknown>;

/** How a function returns (decides how the pg transport shapes its result). */
export type ReturnShape = 'scalar' | 'row' | 'rows';

export interface SelectOptions {
  /** Equality filters: column → value. */
  eq?: Record<string, string | number | boolean>;
  orderBy?: { column: string; ascending?: boolean };
  limit?: number;
}

export interface Transport {
  rpc<T>(fn: string, args: RpcArgs, shape: ReturnShape): Promise<T>;
  select<T>(relation: string, options?: SelectOptions): Promise<T[]>;
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
