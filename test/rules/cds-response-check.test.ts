import { describe, expect, it } from 'vitest';
import { checkCdsResponse } from '../support/cds-response-check.js';

const UUID_A = '0b6f1a3e-3c2d-4f5e-8a9b-1c2d3e4f5a6b';
const UUID_B = '1c7a2b4f-4d3e-4a6f-9b0c-2d3e4f5a6b7c';

function validCard(): Record<string, unknown> {
  return {
    uuid: UUID_A,
    summary: 'Order urgent MRI of the lumbar spine',
    detail: '**Why**: progressive weakness.',
    indicator: 'critical',
    source: {
      label: 'Spine CDS — ACR Appropriateness Criteria',
      topic: { system: 'https://example.org/CodeSystem/topic', code: 'red-flag' },
    },
    selectionBehavior: 'at-most-one',
    suggestions: [
      {
        label: 'Order MRI',
        uuid: UUID_B,
        isRecommended: true,
        actions: [{ type: 'create', description: 'MRI', resource: { resourceType: 'ServiceRequest', status: 'draft' } }],
      },
    ],
    overrideReasons: [{ system: 'https://example.org/override', code: 'x', display: 'Specialist requested' }],
    links: [{ label: 'Guideline', url: 'https://acsearch.acr.org/list', type: 'absolute' }],
  };
}

/** Returns a fresh valid response whose first card has been modified by `mutate`. */
function withCard(mutate: (card: Record<string, unknown>) => void): unknown {
  const card = validCard();
  mutate(card);
  return { cards: [card] };
}

describe('checkCdsResponse', () => {
  it('accepts an empty card list and a fully populated valid card', () => {
    expect(checkCdsResponse({ cards: [] })).toEqual([]);
    expect(checkCdsResponse({ cards: [validCard()] })).toEqual([]);
  });

  it('requires a JSON object with a cards array', () => {
    expect(checkCdsResponse(null)).not.toEqual([]);
    expect(checkCdsResponse({})).not.toEqual([]);
    expect(checkCdsResponse({ cards: {} }).join()).toMatch(/cards/);
  });

  it.each([
    ['missing summary', (c: Record<string, unknown>) => delete c.summary, /summary: required/],
    ['summary of 140 characters', (c: Record<string, unknown>) => (c.summary = 'x'.repeat(140)), /under 140/],
    ['bad indicator', (c: Record<string, unknown>) => (c.indicator = 'hard-stop'), /indicator/],
    ['missing source label', (c: Record<string, unknown>) => (c.source = { topic: { system: 's', code: 'c' } }), /source\.label/],
    ['topic without system', (c: Record<string, unknown>) => (c.source = { label: 'L', topic: { code: 'c' } }), /topic\.system/],
    ['missing card uuid', (c: Record<string, unknown>) => delete c.uuid, /cards\[0\]\.uuid/],
    ['suggestions without selectionBehavior', (c: Record<string, unknown>) => delete c.selectionBehavior, /selectionBehavior: required/],
    ['override reason without display', (c: Record<string, unknown>) => (c.overrideReasons = [{ system: 's', code: 'c' }]), /display/],
    ['relative absolute link', (c: Record<string, unknown>) => (c.links = [{ label: 'L', url: '/docs', type: 'absolute' }]), /absolute/],
    ['link without type', (c: Record<string, unknown>) => (c.links = [{ label: 'L', url: 'https://x.org' }]), /links\[0\]\.type/],
    ['null value', (c: Record<string, unknown>) => (c.detail = null), /null/],
    ['empty string', (c: Record<string, unknown>) => (c.detail = ''), /empty string/],
    ['empty array', (c: Record<string, unknown>) => (c.links = []), /empty array/],
    ['empty object', (c: Record<string, unknown>) => ((c.source as Record<string, unknown>).topic = {}), /empty object/],
  ])('rejects a card with %s', (_name, mutate, message) => {
    const errors = checkCdsResponse(withCard(mutate));
    expect(errors.join('\n')).toMatch(message);
  });

  it('checks suggestions: uuid, label, cds-resp-1 and actions', () => {
    const twoRecommended = withCard((c) => {
      const [s] = c.suggestions as Record<string, unknown>[];
      c.suggestions = [s, { ...s, uuid: UUID_A }];
    });
    expect(checkCdsResponse(twoRecommended).join()).toMatch(/cds-resp-1/);
    const anyBehavior = withCard((c) => {
      const [s] = c.suggestions as Record<string, unknown>[];
      c.suggestions = [s, { ...s, uuid: UUID_A }];
      c.selectionBehavior = 'any';
    });
    expect(checkCdsResponse(anyBehavior)).toEqual([]);

    const noUuid = withCard((c) => delete (c.suggestions as Record<string, unknown>[])[0]!.uuid);
    expect(checkCdsResponse(noUuid).join()).toMatch(/suggestions\[0\]\.uuid/);

    const badAction = withCard((c) => {
      (c.suggestions as Record<string, unknown>[])[0]!.actions = [{ type: 'remove' }];
    });
    const errors = checkCdsResponse(badAction).join('\n');
    expect(errors).toMatch(/actions\[0\]\.type/);
    expect(errors).toMatch(/actions\[0\]\.description/);
  });

  it('requires resourceId on a delete action', () => {
    const withoutId = withCard((c) => {
      (c.suggestions as Record<string, unknown>[])[0]!.actions = [{ type: 'delete', description: 'Withdraw' }];
    });
    expect(checkCdsResponse(withoutId).join()).toMatch(/resourceId/);
    const withId = withCard((c) => {
      (c.suggestions as Record<string, unknown>[])[0]!.actions = [
        { type: 'delete', description: 'Withdraw', resourceId: 'ServiceRequest/abc-1' },
      ];
    });
    expect(checkCdsResponse(withId)).toEqual([]);
  });
});
