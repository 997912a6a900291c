#!/usr/bin/env node
// `npx scrapeguard`: the compiled CLI (dist/, built by `npm run build`; shipped built in the package).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  console.error('scrapeguard: the CLI is not built (dist/ is missing); run `npm run build` (or `npm ci`) in the scrapeguard checkout');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv);
