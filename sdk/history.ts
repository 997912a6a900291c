/** Event revisions: what changed, when, by which run; events as they were at any moment. */
import type { RowOf, Transport } from './transport.js';

export type EventRow = RowOf<'events'>;

export type RevisionOperation = 'insert' | 'update' | 'delete' | 'baseline';

/** A row of public.event_revisions (its CHECK keeps `operation` to these four). */
export type RevisionRow = Omit<RowOf<'event_revisions'>, 'operation'> & {
  /** baseline: the whole row at this revision, standing in for older history that is not kept. */
  operation: RevisionOperation;
};

function iso(at: Date | string): string {
  return at instanceof Date ? at.toISOString() : at;
}

export class History {
  constructor(private readonly transport: Transport) {}

  /** Every recorded change of one event (see docs/database.md for the order). */
  async event(eventId: string): Promise<RevisionRow[]> {
    const rows = await this.transport.rpc('event_history', { event_id: eventId });
    return rows as RevisionRow[];
  }

  /** The event as it was at `at`; null where it did not exist (yet, or any more). */
  asOf(eventId: string, at: Date | string): Promise<EventRow | null> {
    return this.transport.rpc('event_as_of', { event_id: eventId, at: iso(at) });
  }

  /** All events as they were at `at`. */
  allAsOf(at: Date | string): Promise<EventRow[]> {
    return this.transport.rpc('events_as_of', { at: iso(at) });
  }
}
