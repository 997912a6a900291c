/**
 * What the package is made of depends only downwards: the CLI on the SDK, never the
 * reverse, and neither on the development scripts (which are not shipped).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';

function sources(dir: string): string[] {
  return readdirSync(join(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** Every module specifier a file imports (static and dynamic). */
function imports(file: string): string[] {
  const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

function resolved(file: string, spec: string): string {
  return spec.startsWith('.') ? relative(PROJECT_ROOT, join(PROJECT_ROOT, file, '..', spec)) : spec;
}

describe('module boundaries', () => {
  test('the SDK imports nothing of the CLI or the scripts', () => {
    const bad = sources('sdk').flatMap((f) =>
      imports(f).map((s) => [f, resolved(f, s)] as const).filter(([, r]) => /^(cli|scripts|tests|bench)\//.test(r)),
    );
    expect(bad).toEqual([]);
  });

  test('the CLI uses the SDK only through its public entry point and imports no script', () => {
    const files = sources('cli');
    expect(files.length).toBeGreaterThan(2);
    const bad = files.flatMap((f) =>
      imports(f)
        .map((s) => [f, resolved(f, s)] as const)
        .filter(([, r]) => /^(scripts|tests|bench)\//.test(r) || (r.startsWith('sdk/') && r !== 'sdk/index.js')),
    );
    expect(bad).toEqual([]);
  });
});
