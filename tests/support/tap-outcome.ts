/**
 * What a pgTAP file's TAP stream says, assertion by assertion, in the terms the
 * vitest report uses (pass, fail, skip, todo), with the reasons pgTAP gave.
 *
 * A TODO assertion is one the file says is expected to fail for now:
 *   - failing, it is reported as a vitest `todo` (with its reason): it is neither a
 *     pass (that would hide a known hole among the green) nor a failure (that would
 *     make TODO the same as an ordinary assertion, and CI red for a known gap);
 *   - passing, it is reported as a failure ("unexpected pass"): the hole it marks is
 *     closed, so the TODO must be removed and the assertion count as a real one,
 *     otherwise a later regression would go unnoticed as a "todo" again.
 * A skipped assertion is reported as skipped, with its reason.
 */
import { Parser, type Result } from 'tap-parser';

export type Verdict = 'pass' | 'fail' | 'skip' | 'todo' | 'unexpected-pass';

export interface Assertion {
  id: number;
  name: string;
  verdict: Verdict;
  /** The SKIP or TODO reason ('' when none was given). */
  reason: string;
  /** pgTAP's `#` lines after the assertion (a failure's have/want). */
  diagnostics: string[];
}

export interface TapOutcome {
  assertions: Assertion[];
  /** What fails the file as a whole: a bad or missing plan, a bail-out, no assertion. */
  problems: string[];
}

function reasonOf(directive: boolean | string): string {
  return typeof directive === 'string' ? directive : '';
}

function verdictOf(r: Result): Verdict {
  if (r.skip !== false) return 'skip';
  if (r.todo !== false) return r.ok ? 'unexpected-pass' : 'todo';
  return r.ok ? 'pass' : 'fail';
}

export function parseTap(lines: string[]): TapOutcome {
  const assertions: Assertion[] = [];
  const problems: string[] = [];
  const parser = new Parser();
  parser.on('assert', (r: Result) => {
    const verdict = verdictOf(r);
    assertions.push({
      id: r.id ?? assertions.length + 1,
      name: r.name,
      verdict,
      reason: reasonOf(verdict === 'skip' ? r.skip : r.todo),
      diagnostics: [],
    });
  });
  // pgTAP writes a failure's have/want as `#` comments right after the assertion.
  parser.on('comment', (c: string) => {
    const last = assertions.at(-1);
    if (last) last.diagnostics.push(c.replace(/\n$/, ''));
    else problems.push(c.trim());
  });
  parser.on('bailout', (reason: string) => {
    problems.push(`bailed out: ${reason}`);
  });
  let finalOk = true;
  parser.on('complete', (res: { ok: boolean; plan: { start: number | null; end: number | null; skipAll: boolean }; count: number }) => {
    finalOk = res.ok;
    if (res.count === 0) problems.push('no assertion ran');
    else if (res.plan.end === null) problems.push(`no plan (${res.count} assertions ran)`);
    else if (res.plan.end !== res.count && !res.plan.skipAll) {
      problems.push(`planned ${res.plan.end} tests but ran ${res.count}`);
    }
  });
  parser.end(lines.map((l) => `${l}\n`).join(''));
  if (!finalOk && problems.length === 0 && assertions.every((a) => a.verdict !== 'fail')) {
    problems.push('TAP stream is not ok (bad plan)');
  }
  return { assertions, problems };
}

/** The vitest test title of an assertion, with its directive and reason. */
export function titleOf(a: Assertion): string {
  const title = `${a.id} - ${a.name || '(unnamed)'}`;
  if (a.verdict === 'skip') return `${title} # SKIP${a.reason ? ` ${a.reason}` : ''}`;
  if (a.verdict === 'todo' || a.verdict === 'unexpected-pass') return `${title} # TODO${a.reason ? ` ${a.reason}` : ''}`;
  return title;
}

/** Why the assertion fails its vitest test, or null when it does not. */
export function failureOf(a: Assertion): string | null {
  if (a.verdict === 'fail') return [`not ok ${a.id} - ${a.name || '(unnamed)'}`, ...a.diagnostics].join('\n');
  if (a.verdict === 'unexpected-pass') {
    return `ok ${a.id} - ${a.name || '(unnamed)'} passed but is marked TODO${a.reason ? ` (${a.reason})` : ''}: the hole it marks is closed, remove the TODO`;
  }
  return null;
}
