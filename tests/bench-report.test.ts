import { describe, expect, it } from 'vitest';
import { meetsGoal, renderResults } from '../bench/lib/report.js';
import type { BenchResult } from '../bench/lib/results.js';

describe('bench report', () => {
  it('reads goals in both directions', () => {
    expect(meetsGoal(0.75, '≥ 0.7')).toBe(true);
    expect(meetsGoal(0.65, '≥ 0.7')).toBe(false);
    expect(meetsGoal(1.4, '≤ 1.5×')).toBe(true);
    expect(meetsGoal(1.6, '≤ 1.5×')).toBe(false);
    expect(meetsGoal(2, 'diagnostic')).toBeUndefined();
  });

  it('renders a row whose ratio could not be measured instead of failing', () => {
    // What a results file holds after a run too short to measure: NaN is written as null.
    const stored = JSON.parse(
      JSON.stringify({
        title: 'tiny',
        rows: [
          { name: 'zero rounds', baseline: 0, measured: 0, ratio: Number.NaN, goal: '≤ 2', unit: 'ms' },
          { name: 'measured', baseline: 10, measured: 12, ratio: 1.2, goal: '≤ 2', unit: 'ms' },
        ],
      }),
    ) as BenchResult;
    expect(stored.rows[0]?.ratio).toBeNull();
    const md = renderResults([stored], '2026-01-01', 'test machine');
    expect(md).toContain('| zero rounds | 0 ms | 0 ms | n/a | ≤ 2 |  |');
    expect(md).toContain('| measured | 10 ms | 12 ms | 1.20 | ≤ 2 | yes |');
  });

  it('lets a benchmark decide pass itself', () => {
    const md = renderResults(
      [{ title: 't', server: 'PostgreSQL 17', rows: [{ name: 'r', baseline: 1, measured: 9, ratio: 9, goal: '≤ 2', pass: true }] }],
      '2026-01-01',
      'm',
    );
    expect(md).toContain('Server: PostgreSQL 17');
    expect(md).toContain('| r | 1 | 9 | 9.00 | ≤ 2 | yes |');
  });
});
