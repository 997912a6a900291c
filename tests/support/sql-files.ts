import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/lib/paths.js';

/** Text of a file under tests/fixtures. */
export function fixture(name: string): string {
  return readFileSync(join(PROJECT_ROOT, 'tests', 'fixtures', name), 'utf8');
}
