import { defineConfig, type Plugin } from 'vitest/config';

/**
 * Each tests/pgtap/*.sql file is a vitest test file of its own: this transform
 * turns it into a module that runs the SQL in a fresh database and declares one
 * test per TAP assertion (see tests/support/pgtap-runner.ts).
 */
function pgTapFiles(): Plugin {
  return {
    name: 'scrapeguard-pgtap',
    enforce: 'pre',
    transform(_code, id) {
      if (!/\/tests\/pgtap\/[^/]+\.sql$/.test(id)) return null;
      return {
        code: `import { definePgTapSuite } from '/tests/support/pgtap-runner.ts';\nawait definePgTapSuite(${JSON.stringify(id)});\n`,
        map: null,
      };
    },
  };
}

export default defineConfig({
  plugins: [pgTapFiles()],
  test: {
    include: ['tests/**/*.test.ts', 'tests/pgtap/**/*.sql'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Type-level tests (supabase-js calls typed by the generated Database).
    typecheck: { enabled: true, include: ['tests/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
