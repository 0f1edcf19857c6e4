import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Recommendation } from '../../src/cards/recommendation.js';
import { clampSummary, escapeMarkdown, renderCard, type RenderContext } from '../../src/cards/render.js';
import { checkCdsResponse } from '../support/cds-response-check.js';

const ctx: RenderContext = {
  topicSystem: 'https://fhir.spine-cds.org/CodeSystem/card-topic',
  topicDisplay: { 'low-value-imaging': 'Low-value spine imaging' },
  patientReference: 'Patient/p-9',
  sources: {
    'ACR-LBP': { id: 'ACR-LBP', label: 'ACR Appropriateness Criteria: Low Back Pain', url: 'https://acsearch.acr.org/list' },
    CW: { id: 'CW', label: 'Choosing Wisely (NASS): imaging for low back pain' },
    S0: { id: 'S0', label: 'a seed document', seed: true },
  },
};

function recommendation(over: Partial<Recommendation> = {}): Recommendation {
  return {
    row: 'D10',
    topic: 'low-value-imaging',
    indicator: 'warning',
    summary: 'Low-value imaging: consider withdrawing the draft',
    guidance: ['Stay active.'],
    fired: [{ id: 'LBP', label: 'Low back pain', evidence: [{ display: 'Lumbago *acute* [x]', date: '2026-11-01', reference: 'Condition/c1' }] }],
    missing: [{ what: 'Fever (FEVER)', why: 'no temperature in the last 7 days' }],
    notes: [],
    orders: [],
    withdrawals: [{ resourceId: 'ServiceRequest/d1', display: 'MRI lumbar spine' }],
    sources: ['ACR-LBP', 'CW', 'S0'],
    overrideReasons: [{ system: 'https://fhir.spine-cds.org/CodeSystem/override-reason', code: 'specialist-requested', display: 'Specialist requested imaging' }],
    ...over,
  };
}

describe('renderCard', () => {
  it('renders a conforming card: topic, guideline label, absolute links, withdrawal, override reasons', () => {
    const card = renderCard(recommendation(), ctx);
    expect(checkCdsResponse({ cards: [card] })).toEqual([]);
    expect(card.source.topic).toEqual({ system: ctx.topicSystem, code: 'low-value-imaging', display: 'Low-value spine imaging' });
    expect(card.source.label).toMatch(/^Spine CDS — ACR Appropriateness Criteria/);
    expect(card.links?.every((l) => l.type === 'absolute' && l.url.startsWith('https://'))).toBe(true);
    expect(card.suggestions?.[0]?.actions?.[0]).toMatchObject({ type: 'delete', resourceId: 'ServiceRequest/d1' });
    expect(card.selectionBehavior).toBeDefined();
  });

  it('lists the evidence with EHR text escaped so it cannot change the layout; ids, codes and seeds stay in the extension', () => {
    const card = renderCard(recommendation(), ctx);
    const detail = card.detail ?? '';
    expect(detail).toContain('- **Low back pain**: Lumbago \\*acute\\* \\[x\\], 2026-11-01');
    expect(detail).not.toMatch(/Condition\/c1|\(FEVER\)|\(LBP\)|Seed|D10/);
    expect(card.extension?.['org.spine-cds.provenance']).toMatchObject({
      rule: 'D10',
      sources: ['ACR-LBP', 'CW', 'S0'],
      findings: [{ id: 'LBP', references: ['Condition/c1'] }],
      unchecked: [{ what: 'Fever (FEVER)', why: 'no temperature in the last 7 days' }],
    });
  });

  it('links only the sources the context gives a URL; a seed is never linked or named', () => {
    const card = renderCard(recommendation(), ctx);
    expect(card.links?.map((l) => l.url)).toEqual(['https://acsearch.acr.org/list']);
    const bare = renderCard(recommendation(), { ...ctx, sources: {} });
    expect(bare.links ?? []).toEqual([]);
    expect(bare.source.label).toBe('Spine CDS');
    expect(JSON.stringify([card.summary, card.detail, card.source.label])).not.toContain('seed document');
  });

  it('gives each card and suggestion its own uuid', () => {
    const a = renderCard(recommendation(), ctx);
    const b = renderCard(recommendation(), ctx);
    expect(a.uuid).not.toBe(b.uuid);
    expect(a.suggestions?.[0]?.uuid).not.toBe(b.suggestions?.[0]?.uuid);
  });

  it('omits suggestions and selectionBehavior when there is nothing to do', () => {
    const card = renderCard(recommendation({ withdrawals: [], overrideReasons: [] }), ctx);
    expect(card.suggestions).toBeUndefined();
    expect(card.selectionBehavior).toBeUndefined();
    expect(card.overrideReasons).toBeUndefined();
  });
});

describe('clampSummary', () => {
  it('keeps summaries under 140 characters', () => {
    expect(clampSummary('short')).toBe('short');
    const long = clampSummary('word '.repeat(60));
    expect(long.length).toBeLessThan(140);
    expect(long.endsWith('…')).toBe(true);
  });

  it('escapes what record text could turn into markdown, and folds its whitespace', () => {
    expect(escapeMarkdown('  *bold*  _it_\n[link](x) <b> #1 a|b `c` {d} \\ ')).toBe(
      '\\*bold\\* \\_it\\_ \\[link\\](x) \\<b\\> \\#1 a\\|b \\`c\\` \\{d\\} \\\\',
    );
  });

  it('escapes and folds any text exactly as escaping every special then folding every whitespace run would', () => {
    // Text built mostly from the characters that matter: specials, every kind of whitespace, letters.
    const char = fc.constantFrom(...'\\`*_{}[]<>#|ab. \t\n\r\u00a0\u2028\ufeff\u3000');
    const reference = (t: string) => t.replace(/[\\`*_{}[\]<>#|]/g, (c) => `\\${c}`).replace(/\s+/g, ' ').trim();
    fc.assert(
      fc.property(fc.array(char, { maxLength: 40 }), fc.string(), (chars, extra) => {
        const text = chars.join('') + extra;
        expect(escapeMarkdown(text)).toBe(reference(text));
        const folded = text.replace(/\s+/g, ' ').trim();
        if (folded.length <= 139) expect(clampSummary(text)).toBe(folded);
      }),
      { numRuns: 2000 },
    );
  });
});
