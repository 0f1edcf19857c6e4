import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every path a file of the repository names (in code comments, docs, YAML and JSON knowledge) exists
 * in the repository, so a newcomer can follow any reference, and a file moved without its mentions
 * fails here rather than in a reader's hands.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'data', 'test-artifacts', 'coverage', 'reports', '.stryker-tmp']);
/** Files an operator creates from the documented examples; the docs name them on purpose. */
const CREATED_BY_OPERATOR = new Set(['docker/issuers.json']);
const REFERENCE = /\b(?:src|hooks|mappings|docs|kit|scripts|test|docker)\/[A-Za-z0-9_./-]+\.(?:ts|md|yaml|json|mjs)\b/g;

function* textFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const relative = path.relative(ROOT, full);
    if (entry.isDirectory()) {
      if (SKIP_DIRS.has(entry.name) || relative === path.join('test', 'fixtures', 'external')) continue;
      yield* textFiles(full);
    } else if (/\.(ts|mts|mjs|md|yaml|yml|json)$/.test(entry.name) && entry.name !== 'package-lock.json') {
      yield full;
    }
  }
}

describe('references between files of the repository', () => {
  it('every repository path named in code, docs and knowledge files exists', () => {
    const dangling: string[] = [];
    for (const file of textFiles(ROOT)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(REFERENCE)) {
        // A reference preceded by another path segment (node_modules/x/src/y.ts, dist/src/…) is not ours.
        const before = text[match.index - 1];
        if (before === '/' || before === '.' || CREATED_BY_OPERATOR.has(match[0])) continue;
        if (!existsSync(path.join(ROOT, match[0]))) dangling.push(`${path.relative(ROOT, file)}: ${match[0]}`);
      }
    }
    expect(dangling).toEqual([]);
  });
});
