import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Card } from '../../src/cards/types.js';
import { RESOURCE_ID, unitWords } from '../../src/cards/text.js';
import { FINDING_IDS } from '../../src/findings/types.js';
import { loadClinicalFixtures, type ClinicalFixture } from '../clinical/fixture.js';
import { startService, type RunningService } from '../support/service.js';
import { cardsFor, clinicianText, observationsOf } from './support.js';

/**
 * How every card reads to a clinician (issue 16), over every clinical fixture through the real
 * service: no internal references, results as charted, summaries that fit and match the orders.
 */
const fixtures = loadClinicalFixtures();
const answers = new Map<string, { fixture: ClinicalFixture; cards: Card[] }>();
let service: RunningService;
let clock = new Date();

beforeAll(async () => {
  service = await startService({}, { now: () => clock });
  for (const { file, fixture } of fixtures) answers.set(file, { fixture, cards: await cardsFor(service, fixture, (now) => (clock = now)) });
}, 300_000);
afterAll(async () => {
  await service?.close();
});

/** Finding ids that are also the clinician's own abbreviations (an order reads "C-reactive protein (CRP)"). */
const CLINICAL_ABBREVIATIONS = new Set(['ESR', 'CRP', 'HIV', 'PAD', 'B12']);
const INTERNAL_CODES = FINDING_IDS.filter((id) => !CLINICAL_ABBREVIATIONS.has(id));
/** Labs a summary may name, as the orders' labels spell them. */
const LABS = ['ESR', 'CBC', 'CRP', 'HbA1c', 'B12', 'D-dimer'];
const UCUM_ONLY = /\bCel\b|\[degF\]|\{score\}|\[lb_av\]/;

/** The files are known when the tests are collected; their answers once the service has run them. */
const files = fixtures.map(({ file }) => file);
function answer(file: string): { fixture: ClinicalFixture; cards: Card[] } {
  const a = answers.get(file);
  if (!a) throw new Error(`no answer for ${file}`);
  return a;
}

describe('clinician text on every card of every clinical fixture', () => {
  it('has cards to judge', () => {
    expect(answers.size).toBe(fixtures.length);
    expect([...answers.values()].flatMap((a) => a.cards).length).toBeGreaterThan(fixtures.length);
  });

  it.each(files)('%s: no seed, rule row, finding code or resource id', (file) => {
    const { cards } = answer(file);
    for (const card of cards) {
      const text = clinicianText(card);
      const where = `${card.source.topic?.code}: ${text}`;
      expect(text, where).not.toMatch(/\bSeed\b/);
      expect(text, where).not.toMatch(/\(D\d|\b[DMP]\d{1,2}\b/);
      for (const id of INTERNAL_CODES) expect(text, `${where}\n(finding code ${id})`).not.toMatch(new RegExp(`\\b${id}\\b`));
      expect(text, where).not.toMatch(RESOURCE_ID);
      expect(text, where).not.toMatch(UCUM_ONLY);
    }
  });

  it.each(files)('%s: summary under 140 characters, at most three links', (file) => {
    const { cards } = answer(file);
    for (const card of cards) {
      expect(card.summary.length, card.summary).toBeLessThan(140);
      expect((card.links ?? []).length, card.summary).toBeLessThanOrEqual(3);
    }
  });

  it.each(files)('%s: a lab named in the summary is offered on the card', (file) => {
    const { cards } = answer(file);
    for (const card of cards) {
      const labels = (card.suggestions ?? []).map((s) => s.label).join('\n');
      // "raised D-dimer" names a result on record, not an order.
      const asked = card.summary.replace(/\braised [\w-]+/g, '');
      for (const lab of LABS) if (new RegExp(`\\b${lab}\\b`).test(asked)) expect(labels, `${card.summary}\nnames ${lab}`).toContain(lab);
    }
  });

  it.each(files)('%s: each result shown as charted, its converted value only beside it', (file) => {
    const { fixture, cards } = answer(file);
    const observations = observationsOf(fixture);
    for (const card of cards) {
      const detail = card.detail ?? '';
      const provenance = card.extension?.['org.spine-cds.provenance'] as { findings?: { references?: string[] }[] } | undefined;
      const cited = new Set((provenance?.findings ?? []).flatMap((f) => f.references ?? []));
      for (const ref of cited) {
        const q = observations.get(ref)?.valueQuantity;
        // Scores and grades ({score}: a pain score, a muscle grade of an exam finding) are not units to convert.
        if (q?.value === undefined || /^\{.*\}$/.test(q.code ?? q.unit ?? '')) continue;
        const charted = `${q.value} ${unitWords(q.unit ?? q.code ?? '')}`;
        expect(detail, `${ref} as charted`).toContain(charted);
        // A converted form appears only in parentheses right after the charted one: one unit per result.
        const beside = [...detail.matchAll(new RegExp(`${escape(charted)} \\(([^)]+)\\)`, 'g'))].map((m) => m[1] as string);
        for (const converted of new Set(beside)) {
          const alone = detail.split(converted).length - 1;
          const paired = detail.split(`${charted} (${converted})`).length - 1;
          expect(alone, `${ref}: "${converted}" apart from "${charted}"`).toBe(paired);
        }
      }
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
