import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/process.js';

/**
 * npm runs a dependency's install scripts only when package.json `allowScripts` approves them, and with
 * --strict-allow-scripts an install fails on any it has no word for (docs/operations-clients.md,
 * "Node.js"). better-sqlite3's install script builds the SQLite addon the store cannot run without.
 */
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean; name?: string }>;
};

/** Package names with install scripts, from the lockfile that npm ci installs. */
const withInstallScripts = [
  ...new Set(
    Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([where, entry]) => entry.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length)),
  ),
].sort();

describe('package.json allowScripts', () => {
  it('approves better-sqlite3, whose install script builds the native addon', () => {
    expect(withInstallScripts).toContain('better-sqlite3');
    expect(pkg.allowScripts?.['better-sqlite3']).toBe(true);
  });

  it('has a decision for every locked package with an install script, so a strict install does not stop', () => {
    const undecided = withInstallScripts.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean');
    expect(undecided).toEqual([]);
  });
});
