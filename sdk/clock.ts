/**
 * The shared scrapeguard clock of a test or demo database (scrapeguard.advance_clock,
 * freeze_clock, reset_clock). It moves time for every connection: breakers cool down,
 * runs and revisions are stamped with it. It never goes back behind a time already
 * recorded unless `force` is given (the database refuses with SQLSTATE 55000).
 *
 * These functions live in schema `scrapeguard`, which PostgREST does not expose, so
 * the clock needs a direct PostgreSQL connection (a pg Pool or Client).
 */
import type pg from 'pg';
import { toScrapeguardError } from './errors.js';

export type ClockConnection = Pick<pg.Pool, 'query'> | pg.PoolClient | pg.Client;

export interface ClockReading {
  /** What scrapeguard.clock() reads now (ISO 8601). */
  now: string;
  /** Set while the shared clock is frozen. */
  frozenAt: string | null;
  /** The shared offset from the wall clock, as PostgreSQL prints an interval ("00:00:00" when none). */
  offset: string;
}

export interface ClockMoveOptions {
  /** Allow moving back behind times already recorded (later records will look older than earlier ones). */
  force?: boolean;
}

export class TestClock {
  constructor(private readonly db: ClockConnection) {}

  private async value(sql: string, values: unknown[]): Promise<string> {
    try {
      const r = await this.db.query<{ at: Date }>(sql, values);
      const at = r.rows[0]?.at;
      if (!at) throw new Error('the clock function returned nothing');
      return at.toISOString();
    } catch (err) {
      throw toScrapeguardError(err);
    }
  }

  async read(): Promise<ClockReading> {
    try {
      const r = await this.db.query<{ now: Date; frozen_at: Date | null; offset_by: string }>(
        `select scrapeguard.clock() as now, c.frozen_at, c.offset_by::text as offset_by
           from scrapeguard.clock_control c where c.id`,
      );
      const row = r.rows[0];
      if (!row) throw new Error('scrapeguard.clock_control has no row (is the database migrated?)');
      return { now: row.now.toISOString(), frozenAt: row.frozen_at?.toISOString() ?? null, offset: row.offset_by };
    } catch (err) {
      throw toScrapeguardError(err);
    }
  }

  /** Moves the clock by a PostgreSQL interval ('10 minutes', '-1 hour'); returns the new time. */
  advance(by: string, options: ClockMoveOptions = {}): Promise<string> {
    return this.value('select scrapeguard.advance_clock($1::interval, force => $2) as at', [by, options.force ?? false]);
  }

  /** Stops the clock at `at` (null: lets it run again, keeping any offset); returns the new time. */
  freeze(at: Date | string | null, options: ClockMoveOptions = {}): Promise<string> {
    const value = at instanceof Date ? at.toISOString() : at;
    return this.value('select scrapeguard.freeze_clock($1::timestamptz, force => $2) as at', [value, options.force ?? false]);
  }

  /** Back to the wall clock; returns the new time. */
  reset(options: ClockMoveOptions = {}): Promise<string> {
    return this.value('select scrapeguard.reset_clock(force => $1) as at', [options.force ?? false]);
  }
}
