/**
 * Transport over supabase-js, for code that only has the project URL and the
 * service-role key (edge functions). Every call is one PostgREST request, i.e.
 * its own transaction.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import { ScrapeguardError, toConnectionLostError, toScrapeguardError } from '../errors.js';
import { RUN_ID_HEADER } from '../ingest.js';
import type { ChangeContext, ChangeContextScope, ReturnShape, RpcArgs, SelectOptions, Transport } from '../transport.js';

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

/** The subset of SupabaseClient this transport uses (keeps tests free of a live server). */
export type SupabaseLike = Pick<SupabaseClient, 'rpc' | 'from'>;

export class SupabaseTransport implements Transport {
  constructor(private readonly client: SupabaseLike) {}

  async rpc<T>(fn: string, args: RpcArgs, shape: ReturnShape): Promise<T> {
    let request = this.client.rpc(fn, args);
    // A call about a run carries the run's header, so what the call writes to events is
    // attributed to it even without a change context (the revision triggers read it).
    if (typeof args.run_id === 'string' && typeof request.setHeader === 'function') {
      request = request.setHeader(RUN_ID_HEADER, args.run_id);
    }
    const { data, error, status } = await request;
    if (error) throw mapError(error, status, true);
    if (shape === 'rows') return (data ?? []) as T;
    return (data ?? null) as T;
  }

  async select<T>(relation: string, options: SelectOptions = {}): Promise<T[]> {
    let query = this.client.from(relation).select('*');
    for (const [col, value] of Object.entries(options.eq ?? {})) query = query.eq(col, value);
    if (options.orderBy) query = query.order(options.orderBy.column, { ascending: options.orderBy.ascending !== false });
    if (options.limit !== undefined) query = query.limit(options.limit);
    const { data, error, status } = await query;
    if (error) throw mapError(error, status, false);
    return (data ?? []) as T[];
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
