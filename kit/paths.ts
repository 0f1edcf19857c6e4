import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file sits in kit/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The read-only shared reference directory (docs, external fixtures): `../shared` beside the
 * repository, as CI lays it out, unless SPINE_SHARED_DIR points elsewhere.
 */
export function sharedDir(): string {
  const dir = process.env.SPINE_SHARED_DIR ?? path.resolve(REPO_ROOT, '../shared');
  if (!existsSync(dir)) {
    throw new Error(`shared directory not found at ${dir}; clone it beside the repository or set SPINE_SHARED_DIR`);
  }
  return dir;
}
