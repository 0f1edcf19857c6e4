import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadMappings } from '../../src/findings/index.js';

/**
 * docs/findings-shapes.md stays in step with mappings/findings/*.yaml: every finding, spinal or
 * non-spinal, has its rows there, one per criterion (by the criterion's name), and no row names a
 * finding or a criterion that no longer exists. The non-spinal causes (files marked "Mimicker
 * finding") are also named in docs/mimickers.md, which describes them.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAPPINGS = path.join(ROOT, 'mappings');
const shapes = readFileSync(path.join(ROOT, 'docs/findings-shapes.md'), 'utf8');
const mimickersDoc = readFileSync(path.join(ROOT, 'docs/mimickers.md'), 'utf8');

/** The first table of findings-shapes.md: `| finding | shape | ...` rows as [finding, shape]. */
function shapeRows(): [string, string][] {
  const lines = shapes.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| finding | shape |'));
  const rows: [string, string][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    rows.push([cells[1] ?? '', cells[2] ?? '']);
  }
  return rows;
}

const mimickerIds = new Set(
  readdirSync(path.join(MAPPINGS, 'findings'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(path.join(MAPPINGS, 'findings', f), 'utf8'))
    .filter((text) => text.startsWith('# Mimicker finding'))
    .map((text) => /^id: (\w+)/m.exec(text)?.[1] ?? ''),
);

describe('docs/findings-shapes.md and mappings/findings', () => {
  it('the table has rows', () => {
    expect(shapeRows().length).toBeGreaterThan(20);
  });

  it('every finding appears with one row per criterion, named as in its YAML', async () => {
    const { definitions } = await loadMappings(MAPPINGS);
    const rows = new Set(shapeRows().map(([id, shape]) => `${id} | ${shape}`));
    const missing: string[] = [];
    for (const def of definitions) {
      for (const c of def.criteria) {
        const row = `${def.id} | ${'name' in c ? String(c.name) : ''}`;
        if (!rows.has(row)) missing.push(row);
      }
    }
    expect(missing).toEqual([]);
  });

  it('no row names a finding or criterion that is not in mappings/findings', async () => {
    const { definitions } = await loadMappings(MAPPINGS);
    const known = new Set(definitions.flatMap((d) => d.criteria.map((c) => `${d.id} | ${'name' in c ? String(c.name) : ''}`)));
    expect(shapeRows().filter(([id, shape]) => !known.has(`${id} | ${shape}`))).toEqual([]);
  });

  it('every non-spinal finding appears in docs/mimickers.md', () => {
    expect(mimickerIds.size).toBeGreaterThan(0);
    const absent = [...mimickerIds].filter((id) => !new RegExp(`\\b${id}\\b`).test(mimickersDoc));
    expect(absent).toEqual([]);
  });
});
