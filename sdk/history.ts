/** Event revisions: what changed, when, by which run; events as they were at any moment. */
import type { Database } from './database.types.js';
import type { Transport } from './transport.js';

export type EventRow = Database['public']['Tables']['events']['Row'];

/** A row of public.event_revisions. */
export interface RevisionRow {
  event_id: string;
  revision: number;
  /** baseline: the whole row at this revision, standing in for older history that is not kept. */
  operation: 'insert' | 'update' | 'delete' | 'baseline';
  field_name: string | null;
  old_value: unknown;
  new_value: unknown;
  changed_at: string;
  run_id: string | null;
  actor: string | null;
  [column: string]: unknown;
}

function iso(at: Date | string): string {
  return at instanceof Date ? at.toISOString() : at;
}

export class History {
  constructor(private readonly transport: Transport) {}

  /** Every recorded change of one event (see docs/database.md for the order). */
  event(eventId: string): Promise<RevisionRow[]> {
    return this.transport.rpc('event_history', { event_id: eventId }, 'rows');
  }

  /** The event as it was at `at`; null where it did not exist (yet, or any more). */
  asOf(eventId: string, at: Date | string): Promise<EventRow | null> {
    return this.transport.rpc('event_as_of', { event_id: eventId, at: iso(at) }, 'row');
  }

  /** All events as they were at `at`. */
  allAsOf(at: Date | string): Promise<EventRow[]> {
    return this.transport.rpc('events_as_of', { at: iso(at) }, 'rows');
  }
}
