/**
 * Transport over supabase-js, for code that only has the project URL and the
 * service-role key (edge functions). Every call is one PostgREST request, i.e.
 * its own transaction.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import { ScrapeguardError, toConnectionLostError, toScrapeguardError } from '../errors.js';
import { FUNCTION_RETURNS } from '../database.functions.js';
import { RUN_ID_HEADER } from '../ingest.js';
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

interface PostgrestErrorLike {
  code?: string;
  message: string;
  details?: string | null;
  hint?: string | null;
}

/**
 * A PostgREST error as its typed error. supabase-js reports a request that never got an
 * HTTP answer (network down, connection reset) with status 0 and no SQLSTATE: that is a
 * ConnectionLostError, which may have committed when the request was a write.
 */
function mapError(error: PostgrestErrorLike, status: number, writeInFlight: boolean): unknown {
  if (status === 0) {
    return toConnectionLostError({ message: error.message, detail: error.details ?? undefined }, { writeInFlight });
  }
  return toScrapeguardError({
    code: error.code,
    message: error.message,
    detail: error.details ?? undefined,
    hint: error.hint ?? undefined,
  });
}

function shapeOf(fn: string): ResultShape | undefined {
  return Object.hasOwn(FUNCTION_RETURNS, fn) ? FUNCTION_RETURNS[fn as FunctionName].shape : undefined;
}

/** The subset of SupabaseClient this transport uses (keeps tests free of a live server). */
export type SupabaseLike = Pick<SupabaseClient, 'rpc' | 'from'>;

export class SupabaseTransport implements Transport {
  constructor(private readonly client: SupabaseLike) {}

  async rpc<F extends FunctionName>(fn: F, args: RpcArgs<F>): Promise<RpcResult<F>> {
    let request = this.client.rpc(fn, args as Record<string, unknown>);
    // A call about a run carries the run's header, so what the call writes to events is
    // attributed to it even without a change context (the revision triggers read it).
    const runId = (args as { run_id?: unknown }).run_id;
    if (typeof runId === 'string' && typeof request.setHeader === 'function') {
      request = request.setHeader(RUN_ID_HEADER, runId);
    }
    const { data, error, status } = await request;
    if (error) throw mapError(error, status, true);
    // PostgREST shapes the answer by the function itself; only "nothing" needs its shape.
    const shape = shapeOf(fn);
    if (shape === 'rows' || shape === 'values') return (data ?? []) as RpcResult<F>;
    if (shape === 'void') return undefined as RpcResult<F>;
    return (data ?? null) as RpcResult<F>;
  }

  async select<R extends RelationName>(relation: R, options: SelectOptions<RowOf<R>> = {}): Promise<RowOf<R>[]> {
    let query = this.client.from(relation).select('*');
    for (const [col, value] of Object.entries(options.eq ?? {})) {
      query = query.eq(col, value as string | number | boolean);
    }
    if (options.orderBy) query = query.order(options.orderBy.column, { ascending: options.orderBy.ascending !== false });
    if (options.limit !== undefined) query = query.limit(options.limit);
    const { data, error, status } = await query;
    if (error) throw mapError(error, status, false);
    return (data ?? []) as RowOf<R>[];
  }

  withChangeContext<T>(_context: ChangeContext, _fn: (tx: ChangeContextScope) => Promise<T>): Promise<T> {
    return Promise.reject(
      new ScrapeguardError({
        message:
          'change contexts need one transaction across calls: use the pg transport for writes to events, or with supabase-js run.ingest(), or the header x-scrapeguard-run-id (run.headers) on your own writes',
      }),
    );
  }

  async close(): Promise<void> {}
}
