/** The catalog snapshot's one normalisation: daily log partitions by relative day. */
import { describe, expect, test } from 'vitest';
import { relativeLogPartitionDays } from './support/catalog.js';

const built = (days: string[]) =>
  days.flatMap((d) => {
    const [y, m, dd] = [d.slice(0, 4), d.slice(4, 6), d.slice(6, 8)];
    const next = new Date(Date.UTC(Number(y), Number(m) - 1, Number(dd) + 1)).toISOString().slice(0, 10);
    return [
      `index CREATE UNIQUE INDEX scraping_logs_p${d}_pkey ON scrapeguard.scraping_logs_p${d} USING btree (id, logged_at)`,
      `relation scrapeguard.scraping_logs_p${d} kind=r partition=FOR VALUES FROM ('${y}-${m}-${dd} 00:00:00+00') TO ('${next} 00:00:00+00')`,
    ];
  });

describe('relativeLogPartitionDays', () => {
  test('a database built the next day (across a month end) gives the same snapshot', () => {
    expect(relativeLogPartitionDays(built(['20261129', '20261130', '20261201']))).toEqual(
      relativeLogPartitionDays(built(['20261130', '20261201', '20261202'])),
    );
  });

  test('a different set of partitions still differs', () => {
    expect(relativeLogPartitionDays(built(['20261129', '20261130', '20261201']))).not.toEqual(
      relativeLogPartitionDays(built(['20261129', '20261201', '20261202'])),
    );
  });

  test('names and bounds become days relative to the first partition; other lines are untouched', () => {
    expect(relativeLogPartitionDays([...built(['20261231']), 'column public.events.title text'])).toEqual([
      'index CREATE UNIQUE INDEX scraping_logs_pday+0_pkey ON scrapeguard.scraping_logs_pday+0 USING btree (id, logged_at)',
      "relation scrapeguard.scraping_logs_pday+0 kind=r partition=FOR VALUES FROM ('day+0') TO ('day+1')",
      'column public.events.title text',
    ]);
  });
});
