/**
 * Ingesting scraped events through public.ingest_events: the items are made storable
 * (the same rules as log metadata: NUL removed, lone surrogates replaced, BigInt and Date
 * as text), split into batches, sent one batch per call, and the results summed with
 * each error's index counted from the start of the whole list.
 *
 * A batch that fails as a whole with a retryable error (deadlock, serialization failure:
 * nothing of it was written) is sent again; ingest_events is idempotent by key, so a
 * batch sent twice never creates an event twice.
 */
import { invalidArgument, RetryableError } from './errors.js';
import { toStorableJson, type Json } from './log-entry.js';
import type { Transport } from './transport.js';

/** The request header that attributes direct PostgREST writes to `events` to a run. */
export const RUN_ID_HEADER = 'x-scrapeguard-run-id';
/** ingest_events takes at most this many items per call. */
export const INGEST_MAX_BATCH = 10_000;
const DEFAULT_BATCH = 1000;
const DEFAULT_RETRIES = 3;

/** One scraped event: the source's own key (its URL or id on the page) and columns of public.events. */
export interface IngestItem {
  key: string;
  [column: string]: unknown;
}

export interface IngestOptions {
  /** Items per ingest_events call (default 1000, at most 10,000). */
  batchSize?: number;
  /** Ask, with the last batch, for the source's keys this run has not seen (`missing_keys`). */
  complete?: boolean;
  /** Who the revisions name (default: the caller, i.e. the database role or the JWT's sub). */
  actor?: string;
  /** Times a batch is sent again after a deadlock or serialization failure (default 3). */
  retries?: number;
}

/** An item ingest_events refused; `index` counts from the start of the list given to ingest(). */
export interface IngestItemError {
  index: number;
  key: string | null;
  sqlstate: string;
  message: string;
}

export interface IngestResult {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  errors: IngestItemError[];
  /** The event of each item, in the order given; null for a refused item. */
  event_ids: (string | null)[];
  /** With `complete: true`: the source's keys not seen since the run started. */
  missing_keys?: string[];
}

/** The headers to give a supabase-js client (or one request) so its writes to events are attributed to the run. */
export function runHeaders(runId: string): Record<string, string> {
  return { [RUN_ID_HEADER]: runId };
}

function batchSizeOf(value: unknown): number {
  if (value === undefined) return DEFAULT_BATCH;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > INGEST_MAX_BATCH) {
    throw invalidArgument('batchSize', `ingest: batchSize must be an integer from 1 to ${INGEST_MAX_BATCH} (got ${String(value)})`);
  }
  return value;
}

export function emptyIngestResult(): IngestResult {
  return { created: 0, updated: 0, unchanged: 0, failed: 0, errors: [], event_ids: [] };
}

/** Adds one batch's result (its indexes counted from `offset`) to `total`. */
export function addIngestResult(total: IngestResult, part: IngestResult, offset: number): IngestResult {
  total.created += part.created;
  total.updated += part.updated;
  total.unchanged += part.unchanged;
  total.failed += part.failed;
  for (const e of part.errors) total.errors.push({ ...e, index: e.index + offset });
  total.event_ids.push(...part.event_ids);
  if (part.missing_keys) total.missing_keys = part.missing_keys;
  return total;
}

async function callWithRetries<T>(call: () => Promise<T>, retries: number): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof RetryableError) || attempt >= retries) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt + Math.random() * 20));
    }
  }
}

/**
 * Ingest `items` for run `runId`: batches of `batchSize` items through ingest_events, one
 * call at a time, results summed. The run's counts are kept by the database (each call
 * adds its batch's), so finish() needs no counts for ingested events.
 */
export async function ingestEvents(
  transport: Transport,
  runId: string,
  items: readonly IngestItem[],
  options: IngestOptions = {},
): Promise<IngestResult> {
  if (!Array.isArray(items)) throw invalidArgument('items', 'ingest: items must be an array');
  const batchSize = batchSizeOf(options.batchSize);
  const retries = Math.max(0, Math.trunc(options.retries ?? DEFAULT_RETRIES));
  const total = emptyIngestResult();
  const batches = Math.max(1, Math.ceil(items.length / batchSize));
  for (let b = 0; b < batches; b += 1) {
    const offset = b * batchSize;
    // Made storable item by item: an item that is not an object stays what it is, and
    // ingest_events reports it (22023) without failing the others.
    const events: Json[] = items.slice(offset, offset + batchSize).map((item) => toStorableJson(item));
    const last = b === batches - 1;
    // ingest_events returns jsonb: its shape is the documented IngestResult.
    const part = (await callWithRetries(
      () =>
        transport.rpc('ingest_events', {
          run_id: runId,
          events,
          ...(last && options.complete ? { complete: true } : {}),
          ...(options.actor !== undefined ? { actor: options.actor } : {}),
        }),
      retries,
    )) as unknown as IngestResult;
    addIngestResult(total, part, offset);
  }
  return total;
}
