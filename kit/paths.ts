import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file sits in kit/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The public FHIR test data (sources, licences and contents in its README): a verbatim copy kept in
 * the repository under test/fixtures/external, so a clone anywhere runs the tests. SPINE_FIXTURES_DIR
 * points elsewhere (another copy of the same files).
 */
export function externalFixturesDir(): string {
  const dir = process.env.SPINE_FIXTURES_DIR ?? path.join(REPO_ROOT, 'test', 'fixtures', 'external');
  if (!existsSync(dir)) throw new Error(`external FHIR fixtures not found at ${dir}; set SPINE_FIXTURES_DIR`);
  return dir;
}
