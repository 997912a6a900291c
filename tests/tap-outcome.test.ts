/**
 * How the pgTAP harness reads a TAP stream: every assertion's verdict, TODO and
 * SKIP with their reasons, and what fails a file as a whole. The streams are
 * written as pgTAP writes them.
 */
import { describe, expect, test } from 'vitest';
import { runPgTapSql } from './support/pgtap-runner.js';
import { failureOf, parseTap, titleOf } from './support/tap-outcome.js';

const tap = (text: string) => parseTap(text.trim().split('\n'));
const verdicts = (text: string) => tap(text).assertions.map((a) => [a.id, a.verdict, a.reason]);

describe('assertions', () => {
  test('ok and not ok, with the diagnostics after a failure', () => {
    const out = tap(`
1..2
ok 1 - first
not ok 2 - second
# Failed test 2: "second"
#         have: 1
#         want: 2
# Looks like you failed 1 test of 2`);
    expect(out.assertions.map((a) => [a.id, a.name, a.verdict])).toEqual([
      [1, 'first', 'pass'],
      [2, 'second', 'fail'],
    ]);
    expect(out.assertions[1]!.diagnostics.join('\n')).toContain('have: 1');
    expect(failureOf(out.assertions[0]!)).toBeNull();
    expect(failureOf(out.assertions[1]!)).toMatch(/^not ok 2 - second\n.*Failed test 2/s);
    expect(out.problems).toEqual([]);
  });

  test('a failing TODO is a todo with its reason, not a pass and not a failure', () => {
    const out = tap(`
1..2
ok 1 - fine
not ok 2 - the known hole # TODO the breaker does not do this yet
# Failed (TODO) test 2: "the known hole"`);
    expect(out.assertions.map((a) => [a.id, a.verdict, a.reason])).toEqual([
      [1, 'pass', ''],
      [2, 'todo', 'the breaker does not do this yet'],
    ]);
    expect(failureOf(out.assertions[1]!)).toBeNull();
    expect(titleOf(out.assertions[1]!)).toBe('2 - the known hole # TODO the breaker does not do this yet');
    // The stream as a whole is fine: a failing TODO is expected.
    expect(out.problems).toEqual([]);
  });

  test('a passing TODO is an unexpected pass that fails its test', () => {
    const out = tap(`
1..1
ok 1 - the hole is closed # TODO not implemented`);
    expect(out.assertions[0]!.verdict).toBe('unexpected-pass');
    expect(failureOf(out.assertions[0]!)).toMatch(/passed but is marked TODO \(not implemented\).*remove the TODO/);
    expect(titleOf(out.assertions[0]!)).toBe('1 - the hole is closed # TODO not implemented');
  });

  test('a TODO without a reason, in any case', () => {
    expect(verdicts('1..2\nnot ok 1 - a # todo\nok 2 - b # TODO')).toEqual([
      [1, 'todo', ''],
      [2, 'unexpected-pass', ''],
    ]);
  });

  test('a skip (as pgTAP writes it: ok with # SKIP) is a skip with its reason', () => {
    const out = tap(`
1..2
ok 1 - # SKIP event_revisions is not there
ok 2 # skip`);
    expect(out.assertions.map((a) => [a.id, a.verdict, a.reason])).toEqual([
      [1, 'skip', 'event_revisions is not there'],
      [2, 'skip', ''],
    ]);
    expect(titleOf(out.assertions[0]!)).toBe('1 - (unnamed) # SKIP event_revisions is not there');
    expect(out.assertions.map(failureOf)).toEqual([null, null]);
  });
});

describe('the file as a whole', () => {
  test('fewer assertions than planned', () => {
    expect(tap('1..3\nok 1 - a\nok 2 - b').problems).toEqual(['planned 3 tests but ran 2']);
  });

  test('more assertions than planned', () => {
    expect(tap('1..1\nok 1 - a\nok 2 - b').problems).toEqual(['planned 1 tests but ran 2']);
  });

  test('no plan', () => {
    expect(tap('ok 1 - a').problems).toEqual(['no plan (1 assertions ran)']);
  });

  test('no assertion at all', () => {
    expect(tap('1..0').problems).toContain('no assertion ran');
  });

  test('a bail-out', () => {
    expect(tap('1..2\nok 1 - a\nBail out! the database went away').problems).toContainEqual(
      expect.stringMatching(/^bailed out: the database went away/),
    );
  });

  test('a comment before any assertion is reported, not lost', () => {
    expect(tap('# something went wrong before the plan\n1..1\nok 1 - a').problems).toEqual([
      '# something went wrong before the plan',
    ]);
  });
});

describe('a stream written by pgTAP itself', () => {
  test("todo(), skip() and a failure's diagnostics as the harness reports them", async () => {
    const out = await runPgTapSql(`
      begin;
      set local search_path = public, extensions;
      select plan(5);
      select ok(true, 'plain');
      select todo('not there yet', 2);
      select ok(false, 'known hole');
      select ok(true, 'closed hole');
      select skip('not applicable here', 1);
      select is(1, 2, 'one is two');
      select * from finish();
      rollback;`);
    expect(out.assertions.map((a) => [a.id, a.verdict, a.reason])).toEqual([
      [1, 'pass', ''],
      [2, 'todo', 'not there yet'],
      [3, 'unexpected-pass', 'not there yet'],
      [4, 'skip', 'not applicable here'],
      [5, 'fail', ''],
    ]);
    expect(failureOf(out.assertions[4]!)).toMatch(/have: 1\n.*want: 2/);
    expect(out.problems).toEqual([]);
  });
});
