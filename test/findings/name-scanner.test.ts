import fc from 'fast-check';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MappingSet } from '../../src/findings/index.js';
import { nameScanner, NAME_MATCH_URL, type CompiledValueSet, type NameRule, type NameScanner } from '../../src/findings/valueset.js';
import { MAPPINGS_DIR, shippedMappings } from './support.js';

/**
 * The one-pass name scan (issue 17) only narrows which rules a value set tries. For every shipped
 * value set with names, matching with the scan's answer must give exactly what matching every rule
 * gives, on texts built from the shipped names, exclusion words and negations in any case, with any
 * separators, and with the two non-ASCII letters that fold to ASCII ones (Kelvin sign, long s).
 */

let mappings: MappingSet;
let scanner: NameScanner;
let named: CompiledValueSet[];
let words: string[];

beforeAll(async () => {
  mappings = await shippedMappings();
  named = [...new Set(mappings.valueSets.values())].filter((vs) => vs.nameMatcher);
  const found = nameScanner(named.flatMap((vs) => vs.nameMatcher?.rules ?? []));
  if (!found) throw new Error('no shipped value set has names');
  scanner = found;
  // The words as the value-set files write them (names, exclusions, negations), read independently.
  const dir = path.join(MAPPINGS_DIR, 'valuesets');
  const listed = new Set<string>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json'))) {
    const vs = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as { extension?: { url: string; extension?: { url: string; valueString: string }[] }[] };
    for (const ext of vs.extension ?? []) {
      if (ext.url !== NAME_MATCH_URL) continue;
      for (const part of ext.extension ?? []) if (part.url !== 'provenance') listed.add(part.valueString.replace(/\*$/, ''));
    }
  }
  words = [...listed];
});

function possibleFor(texts: readonly string[]): Set<NameRule> {
  const possible = new Set<NameRule>();
  for (const t of texts) scanner.collect(t, possible);
  return possible;
}

function expectSameAnswers(texts: string[]): void {
  const possible = possibleFor(texts);
  for (const vs of named) {
    const matcher = vs.nameMatcher;
    if (!matcher) continue;
    expect(matcher.match(texts, possible), `${vs.id} on ${JSON.stringify(texts)}`).toBe(matcher.match(texts));
  }
}

describe('name scan', () => {
  it('reads the shipped names (otherwise the properties below test nothing)', () => {
    expect(named.length).toBeGreaterThan(20);
    expect(words.length).toBeGreaterThan(500);
  });

  it('narrows a text that names nothing to no rule, and a listed name to the rules that list its first word', () => {
    expect(possibleFor(['Gastro-esophageal reflux disease without esophagitis']).size).toBe(0);
    const cancer = named.find((vs) => vs.nameMatcher?.match(['metastatic carcinoma']) !== undefined);
    expect(cancer).toBeDefined();
    const possible = possibleFor(['History of METASTATIC carcinoma, followed in clinic']);
    expect(cancer?.nameMatcher?.rules.some((r) => possible.has(r))).toBe(true);
  });

  it('folds as the rules do: a name written with the Kelvin sign or a long s is still found', () => {
    for (const text of ['hiſtory of ſarcoma', 'ſarcoma', 'Kidney carcinoma, \u212Anown metastases']) {
      const hits = named.filter((vs) => vs.nameMatcher?.match([text]) !== undefined);
      expect(hits.length, text).toBeGreaterThan(0);
      expectSameAnswers([text]);
    }
  });

  it('gives every value set the same answer as trying all its rules, on generated texts', () => {
    const word = fc.constantFrom(...words);
    const caseShift = fc.constantFrom<(w: string) => string>(
      (w) => w,
      (w) => w.toUpperCase(),
      (w) => w.replace(/^./, (c) => c.toUpperCase()),
      (w) => w.replace(/s/g, '\u017F').replace(/k/g, '\u212A'),
    );
    const separator = fc.constantFrom(' ', '  ', '-', ' - ', ', ', '; ', '/', '(', ')', "'s ", '\n', ' é ', 'x', '');
    const filler = fc.constantFrom('no', 'without', 'history of', 'left', 'right', 'both', 'denies', 'pain', 'the', '2025-01-02', 'Ünïcödé', 'straße');
    const piece = fc.oneof(fc.tuple(word, caseShift).map(([w, f]) => f(w)), filler, fc.string({ maxLength: 5 }));
    const text = fc.array(fc.tuple(piece, separator), { maxLength: 8 }).map((parts) => parts.map(([p, s]) => p + s).join(''));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 3 }), (texts) => {
        expectSameAnswers(texts);
      }),
      { numRuns: 400 },
    );
  });
});
