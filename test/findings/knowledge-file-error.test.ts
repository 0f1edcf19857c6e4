import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivedObservationLoinc } from '../../hooks/prefetch.js';
import { ruleSettingsFromEnv } from '../../hooks/settings.js';
import { loadConfig } from '../../src/config/config.js';
import { KnowledgeFileError } from '../../src/knowledge/knowledge-file-error.js';
import { loadKnowledge } from '../../src/knowledge/knowledge.js';
import { DEFAULT_RULE_SETTINGS } from '../../hooks/settings.js';
import { SPINE_CDS } from '../../hooks/index.js';
import { MAPPINGS_DIR } from './support.js';

/**
 * Every kind of knowledge the service loads fails the same way when it is broken: one
 * KnowledgeFileError naming the file, the place inside it and the reason, so the informaticist who
 * edited it can fix it without reading TypeScript. Each case breaks one shipped file in a copy of
 * mappings/ and loads the whole knowledge, as the service does at startup.
 */
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'knowledge-file-error-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function brokenCopy(relative: string, edit: (text: string) => string): Promise<string> {
  const dir = await mkdtemp(path.join(root, 'mappings-'));
  await cp(MAPPINGS_DIR, dir, { recursive: true, filter: (src) => !src.endsWith('.md') });
  const file = path.join(dir, relative);
  await writeFile(file, edit(await readFile(file, 'utf8')));
  return dir;
}

async function loadFailure(dir: string): Promise<KnowledgeFileError> {
  const err: unknown = await loadKnowledge(dir, SPINE_CDS, DEFAULT_RULE_SETTINGS).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KnowledgeFileError);
  const e = err as KnowledgeFileError;
  expect(e.message).toBe(`${e.file}: ${e.path}: ${e.reason}`);
  return e;
}

describe('one error type for every knowledge file', () => {
  it('a finding definition (mappings/findings, YAML): a value set name misspelt', async () => {
    const dir = await brokenCopy('findings/fever.yaml', (t) => t.replace('valueSet: body-temperature', 'valueSet: body-temprature'));
    const e = await loadFailure(dir);
    expect(e.file).toMatch(/\/findings\/fever\.yaml$/);
    expect(e.path).toBe('criteria[0].valueSet');
    expect(e.reason).toContain('body-temprature');
  });

  it('a value set (mappings/valuesets, JSON): an ICD-10-CM code without its dot', async () => {
    const dir = await brokenCopy('valuesets/epidural-abscess.json', (t) => t.replace('"code": "G06.1"', '"code": "G061"'));
    const e = await loadFailure(dir);
    expect(e.file).toMatch(/\/valuesets\/epidural-abscess\.json$/);
    expect(e.path).toBe('compose.include[0].concept[0].code');
    expect(e.reason).toMatch(/not an ICD-10 code/);
  });

  it('the orders catalog (mappings/orders, YAML): an order without codes', async () => {
    const dir = await brokenCopy('orders/catalog.yaml', (t) => t.replace(/codes:\n(\s+- \{[^\n]*\n)+/, 'codes: []\n'));
    const e = await loadFailure(dir);
    expect(e.file).toMatch(/\/orders\/catalog\.yaml$/);
    expect(e.path).toMatch(/^orders\[\d+\]\.codes$/);
    expect(e.reason.length).toBeGreaterThan(0);
  });

  it('a code system (mappings/codesystems, JSON): a card topic with an unknown indicator', async () => {
    const dir = await brokenCopy('codesystems/card-topic.json', (t) => t.replace(/"valueCode": "critical"/, '"valueCode": "urgent"'));
    const e = await loadFailure(dir);
    expect(e.file).toMatch(/\/codesystems\/card-topic\.json$/);
    expect(e.path).toMatch(/^concept\[\d+\]\.property\(indicator\)$/);
    expect(e.reason).toMatch(/info, warning or critical/);
  });

  it('a code system that is not JSON at all', async () => {
    const dir = await brokenCopy('codesystems/override-reason.json', (t) => t.slice(0, 40));
    const e = await loadFailure(dir);
    expect(e.file).toMatch(/\/codesystems\/override-reason\.json$/);
    expect(e.path).toBe('(file)');
    expect(e.reason).toMatch(/not valid JSON/);
  });

  it('the decision-rule settings (RULE_* variables): a value out of range', () => {
    const err: unknown = (() => {
      try {
        ruleSettingsFromEnv({ RULE_CONSERVATIVE_WINDOW_WEEKS: '0' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KnowledgeFileError);
    const e = err as KnowledgeFileError;
    expect(e.file).toBe('environment');
    expect(e.path).toBe('RULE_CONSERVATIVE_WINDOW_WEEKS');
    expect(e.reason).toContain('"0"');
    // The service's configuration still stops on it, naming the variable.
    expect(() => loadConfig({ RULE_CONSERVATIVE_WINDOW_WEEKS: '0' }, SPINE_CDS)).toThrow(/RULE_CONSERVATIVE_WINDOW_WEEKS/);
  });

  it('the prefetch template is derived with the same loaders, so a broken value set stops it too', async () => {
    const dir = await brokenCopy('valuesets/body-temperature.json', (t) => t.slice(0, 30));
    let err: unknown;
    try {
      derivedObservationLoinc(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KnowledgeFileError);
    expect((err as KnowledgeFileError).file).toMatch(/\/valuesets\/body-temperature\.json$/);
  });
});
