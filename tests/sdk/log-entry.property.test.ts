/**
 * Property test of the log normaliser against the real append_logs: whatever a scraper logs
 * (strings with NUL and lone surrogates, 16,000+-character lines, metadata with BigInt, Dates,
 * Errors, Maps, Sets, typed arrays, NaN, cycles, megabytes of text), the normalised entry is
 * accepted, stored as normalised, within the limits, and the normaliser's size model equals
 * the database's octet_length of the stored metadata.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { jsonbTextBytes, METADATA_MAX_BYTES, MESSAGE_MAX_CHARS, storableLogEntry } from '../../sdk/log-entry.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

/** One UTF-16 "character" of scraped text: any code point, or the pieces that break naive code. */
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('\u0000', '"', '\\', '\n', '\u007f', '\u2028', '😀', 'é', '中') },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);
const text = fc.string({ unit, maxLength: 40 });
const longText = fc
  .tuple(fc.constantFrom('a', '😀', '\u0000', '\ud83d', 'é"'), fc.integer({ min: 16_370, max: 20_000 }), text)
  .map(([c, n, tail]) => c.repeat(n) + tail);
const message = fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: longText });

const anything = fc.anything({
  stringUnit: unit,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withNullPrototype: true,
  withObjectString: true,
  withBoxedValues: true,
  withSparseArray: true,
  maxDepth: 4,
});

const metadata = fc
  .record(
    {
      value: anything,
      number: fc.double(),
      big: fc.bigInt(),
      date: fc.date({ noInvalidDate: false }),
      error: fc.tuple(text, text).map(([m, c]) => Object.assign(new Error(m), { code: c })),
      blob: fc.oneof(fc.constant(undefined), fc.string({ unit, minLength: 1000, maxLength: 6000 })),
      cyclic: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .map((m) => {
    const out: Record<string, unknown> = { ...m };
    if (m.cyclic) {
      out.self = out;
      if (m.error) m.error.cause = out;
    }
    return out;
  });

const entry = fc.record({
  level: fc.constantFrom('debug', 'info', 'warn', 'error') as fc.Arbitrary<'debug' | 'info' | 'warn' | 'error'>,
  message: fc.oneof({ weight: 9, arbitrary: message }, { weight: 1, arbitrary: anything }),
  metadata: fc.oneof({ weight: 4, arbitrary: metadata }, { weight: 1, arbitrary: anything }),
});

describe('log normaliser against the real append_logs', () => {
  test('every normalised entry is accepted and stored as normalised, within the limits', async () => {
    const source = await f.createSource('Property Source');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 4 }), async (raw) => {
        const entries = raw.map((e) => storableLogEntry(e.level, e.message, e.metadata));
        const written = await f.sg.transport.rpc('append_logs', { run_id: run.id, entries });
        expect(written).toBe(entries.length);
        const r = await f.admin.query<{ message: string; metadata: unknown; chars: number; bytes: number }>(
          `select message, metadata, char_length(message) as chars, octet_length(metadata::text) as bytes
             from (select * from public.scraping_logs where run_id = $1 order by id desc limit $2) x order by id`,
          [run.id, entries.length],
        );
        r.rows.forEach((row, i) => {
          const e = entries[i]!;
          expect(row.message).toBe(e.message);
          expect(row.metadata).toEqual(e.metadata);
          expect(row.chars).toBeLessThanOrEqual(MESSAGE_MAX_CHARS);
          expect(row.bytes).toBeLessThanOrEqual(METADATA_MAX_BYTES);
          expect(row.bytes).toBe(jsonbTextBytes(e.metadata));
        });
      }),
      { numRuns: Number(process.env.SCRAPEGUARD_PROPERTY_RUNS ?? 150) },
    );
    await run.finish({ status: 'succeeded' });
  });
});
