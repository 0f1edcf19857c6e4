import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdvisor, type Advisor } from '../../hooks/advise.js';
import { loadRuleKnowledge } from '../../hooks/rules/knowledge.js';
import { RULES } from '../../hooks/rules/table.js';
import { DEFAULT_RULE_SETTINGS, RULE_SETTINGS_DOC, ruleSettingsFromEnv } from '../../hooks/settings.js';
import { CARD_TOPICS } from '../../hooks/rules/card-topics.js';
import { FINDING_IDS } from '../../src/findings/types.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { CPT, LOINC, MAPPINGS_DIR, episode, findingsResult, lumbarMriDraft, ruleInput } from './support.js';

describe('ruleSettingsFromEnv', () => {
  it('returns the decision table defaults when nothing is set', () => {
    expect(ruleSettingsFromEnv({})).toEqual(DEFAULT_RULE_SETTINGS);
    expect(DEFAULT_RULE_SETTINGS).toMatchObject({ feverRequiresRiskFactor: false, conservativeWindowWeeks: 6, duplicateLookbackDays: 7 });
  });

  it('reads RULE_* variables', () => {
    const s = ruleSettingsFromEnv({
      RULE_FEVER_REQUIRES_RISK_FACTOR: 'true',
      RULE_CONSERVATIVE_WINDOW_WEEKS: '4',
      RULE_DUPLICATE_LOOKBACK_DAYS: '14',
      RULE_FIRST_LINE_ANALGESIC: 'nsaid-or-acetaminophen',
      UNRELATED: 'x',
    });
    expect(s).toMatchObject({ feverRequiresRiskFactor: true, conservativeWindowWeeks: 4, duplicateLookbackDays: 14, firstLineAnalgesic: 'nsaid-or-acetaminophen' });
  });

  it.each([
    ['RULE_FEVER_REQUIRES_RISK_FACTOR', 'maybe'],
    ['RULE_CONSERVATIVE_WINDOW_WEEKS', 'six'],
    ['RULE_CONSERVATIVE_WINDOW_WEEKS', '0'],
    ['RULE_DUPLICATE_LOOKBACK_DAYS', '-1'],
    ['RULE_FIRST_LINE_ANALGESIC', 'opioid'],
  ])('rejects %s=%s with an error naming the variable', (name, value) => {
    expect(() => ruleSettingsFromEnv({ [name]: value })).toThrow(name);
  });

  it('documents every setting once', () => {
    expect(RULE_SETTINGS_DOC.map((d) => d.key).sort()).toEqual(Object.keys(DEFAULT_RULE_SETTINGS).sort());
    for (const doc of RULE_SETTINGS_DOC) {
      expect(doc.env).toMatch(/^RULE_[A-Z0-9_]+$/);
      expect(String(DEFAULT_RULE_SETTINGS[doc.key])).toBe(doc.default);
    }
  });
});

describe('rule table', () => {
  it('has one rule per card topic, each naming its sources', () => {
    expect(Object.keys(RULES).sort()).toEqual([...CARD_TOPICS].sort());
    for (const [topic, rule] of Object.entries(RULES)) {
      expect(rule.topic).toBe(topic);
      expect(rule.sources.length).toBeGreaterThan(0);
    }
  });
});

describe('loadRuleKnowledge', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'spine-rules-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function brokenCopy(file: string, edit: (text: string) => string): Promise<string> {
    const target = await mkdtemp(path.join(dir, 'm-'));
    await cp(path.join(MAPPINGS_DIR, 'orders'), path.join(target, 'orders'), { recursive: true });
    await cp(path.join(MAPPINGS_DIR, 'codesystems'), path.join(target, 'codesystems'), { recursive: true });
    await cp(path.join(MAPPINGS_DIR, 'valuesets'), path.join(target, 'valuesets'), { recursive: true });
    const full = path.join(target, file);
    await writeFile(full, edit(await readFile(full, 'utf8')));
    return target;
  }

  it('classifies lumbar, cervical and thoracic codes and rejects the 24531-6 trap', async () => {
    const k = await loadRuleKnowledge(MAPPINGS_DIR);
    expect(k.classifyImagingCoding({ system: CPT, code: '72110' })).toEqual({ region: 'lumbar', modality: 'XR' });
    expect(k.classifyImagingCoding({ system: LOINC, code: '30679-5' })).toEqual({ region: 'lumbar', modality: 'MR' });
    expect(k.classifyImagingCoding({ system: CPT, code: '72156' })).toEqual({ region: 'cervical', modality: 'MR' });
    expect(k.classifyImagingCoding({ system: CPT, code: '72146' })?.region).toBe('thoracic');
    expect(k.classifyImagingCoding({ system: LOINC, code: '24531-6' })).toBeUndefined();
    expect(k.classifyImagingCoding({ system: CPT, code: '72121' })).toBeUndefined();
    expect(k.topicSystem).toMatch(/^https:\/\//);
  });

  it('gives each rule the indicator its card topic has in the CodeSystem (spec section (d))', async () => {
    const k = await loadRuleKnowledge(MAPPINGS_DIR);
    for (const [topic, rule] of Object.entries(RULES)) expect([topic, rule.indicator]).toEqual([topic, k.topicIndicator[rule.topic]]);
  });

  it('names file, field and reason for a broken order catalog', async () => {
    const target = await brokenCopy('orders/catalog.yaml', (t) => t.replace("code: '72148'", 'code: ""'));
    await expect(loadRuleKnowledge(target)).rejects.toThrow(/catalog\.yaml: orders\[0\]\.codes\[0\]\.code: .+/);
  });

  it('names the missing card topic in the CodeSystem', async () => {
    const target = await brokenCopy('codesystems/card-topic.json', (t) => {
      const cs = JSON.parse(t) as { concept: { code: string }[] };
      cs.concept = cs.concept.filter((c) => c.code !== 'myelopathy');
      return JSON.stringify(cs);
    });
    await expect(loadRuleKnowledge(target)).rejects.toThrow(/card-topic\.json: concept: missing card topic "myelopathy"/);
  });

  it('reports invalid JSON with the file name', async () => {
    const target = await brokenCopy('codesystems/override-reason.json', (t) => t.slice(0, 20));
    await expect(loadRuleKnowledge(target)).rejects.toThrow(/override-reason\.json: \(file\): not valid JSON/);
  });
});

describe('advise on odd input', () => {
  let advisor: Advisor;
  beforeAll(async () => {
    advisor = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: DEFAULT_RULE_SETTINGS });
  });

  const anyValue = fc.anything({ maxDepth: 3 });
  const findingArb = fc.record(
    {
      state: fc.constantFrom('present', 'absent', 'unknown', 'weird'),
      evidence: fc.oneof(
        fc.array(
          fc.record(
            {
              display: fc.oneof(fc.string(), anyValue),
              reference: fc.oneof(fc.constant('Condition/x-1'), fc.string()),
              date: fc.oneof(fc.constant('2026-11-01'), fc.string()),
              value: fc.oneof(fc.record({ value: fc.double(), unit: fc.string() }), anyValue),
              limb: fc.constantFrom('arm', 'leg', 'tail'),
              laterality: fc.constantFrom('left', 'right', 'bilateral', 'unspecified'),
              qualifiers: fc.oneof(fc.array(fc.constantFrom('paraparesis', 'epidural-abscess', 'severe', 'physiotherapy')), anyValue),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        anyValue,
      ),
      onset: fc.oneof(fc.constant('2026-11-01'), fc.constant('2020-01-01'), fc.string(), anyValue),
      limbs: anyValue,
    },
    { requiredKeys: [] },
  );
  const findingsArb = fc.dictionary(fc.constantFrom(...FINDING_IDS), findingArb, { maxKeys: 8 });
  const orderArb = fc.oneof(
    fc.constant(lumbarMriDraft('d1')),
    fc.record({ resourceType: fc.constantFrom('ServiceRequest', 'MedicationRequest', 'NutritionOrder'), id: fc.string(), code: anyValue }, { requiredKeys: ['resourceType'] }),
    anyValue,
  );

  it('never throws and always returns a conforming response', () => {
    fc.assert(
      fc.property(
        findingsArb,
        fc.constantFrom('patient-view', 'order-select', 'order-sign') as fc.Arbitrary<'patient-view' | 'order-select' | 'order-sign'>,
        fc.array(orderArb, { maxLength: 3 }),
        fc.oneof(fc.constant(new Date('2026-11-20T00:00:00Z')), fc.date()),
        (raw, hook, orders, now) => {
          const input = ruleInput(hook, { ...findingsResult({}), findings: raw as never }, { orders: orders as never, now });
          const response = advisor.advise(input);
          expect(checkCdsResponse(response)).toEqual([]);
          // The rules themselves must cope: the could-not-assess fallback is for bugs, not for odd data.
          expect(response.cards.map((c) => c.summary)).not.toContainEqual(expect.stringMatching(/could not assess/));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('survives missing pieces of the input', () => {
    const base = ruleInput('order-sign', findingsResult({ LBP: episode(3) }), { orders: [lumbarMriDraft()] });
    for (const broken of [
      { ...base, findings: undefined },
      { ...base, record: undefined },
      { ...base, ordersUnderReview: undefined, allDraftOrders: null },
      { ...base, context: undefined },
      { ...base, now: new Date(Number.NaN) },
      undefined,
    ]) {
      const response = advisor.advise(broken as never);
      expect(checkCdsResponse(response)).toEqual([]);
    }
  });
});
