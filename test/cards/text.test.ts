import { describe, expect, it } from 'vitest';
import type { OrderSuggestion } from '../../src/cards/recommendation.js';
import { fillSummary } from '../../src/cards/render.js';
import { formatResult, roundForDisplay, withoutResourceIds } from '../../src/cards/text.js';

const lab = (display: string): OrderSuggestion => ({
  key: display,
  display,
  kind: 'lab',
  priority: 'urgent',
  category: { system: 'http://snomed.info/sct', code: '108252007' },
  codes: [],
  reasonReferences: [],
  reasonText: 'why',
  recommended: true,
});

describe('results as charted', () => {
  it('shows the charted value first and the converted one rounded beside it', () => {
    expect(formatResult({ value: 38.777777778, unit: 'Cel' }, { value: 101.8, unit: '°F' })).toBe('101.8 °F (38.8 °C)');
    expect(formatResult({ value: 42, unit: 'mg/L' }, { value: 4.2, unit: 'mg/dL' })).toBe('4.2 mg/dL (42 mg/L)');
  });

  it('shows one value when the chart already used the standard unit, in its usual spelling', () => {
    expect(formatResult({ value: 38.3, unit: 'Cel' }, { value: 38.3, unit: 'C' })).toBe('38.3 °C');
    expect(formatResult({ value: 62, unit: 'mm/h' }, { value: 62, unit: 'mm/h' })).toBe('62 mm/h');
    expect(formatResult({ value: 8, unit: '{score}' })).toBe('8/10');
  });

  it('rounds converted values to what a clinician reads', () => {
    expect(roundForDisplay(69.85322498)).toBe('69.9');
    expect(roundForDisplay(0.04561)).toBe('0.046');
    expect(roundForDisplay(42)).toBe('42');
  });
});

describe('resource ids stay out of clinician text', () => {
  it('drops the id and keeps the rest of the sentence', () => {
    expect(withoutResourceIds('MRI lumbar spine: already in the draft orders (ServiceRequest/draft-1).')).toBe('MRI lumbar spine: already in the draft orders.');
    expect(withoutResourceIds('CRP: result from the last 7 days (Observation/obs-5: 4.2 mg/dL on 2026-12-01); not reordered.')).toBe(
      'CRP: result from the last 7 days (4.2 mg/dL on 2026-12-01); not reordered.',
    );
    expect(withoutResourceIds('ESR: already ordered in the last 7 days (ServiceRequest/sr-1, active).')).toBe('ESR: already ordered in the last 7 days (active).');
    expect(withoutResourceIds('HEDIS/CMS166 and 4.2 mg/dL')).toBe('HEDIS/CMS166 and 4.2 mg/dL');
  });
});

describe('summaries name only the labs the card offers', () => {
  it('lists the labs offered, and drops the list when none is left', () => {
    const summary = 'Possible spinal infection: urgent MRI lumbar spine with and without contrast, {labs}';
    expect(fillSummary(summary, [lab('Erythrocyte sedimentation rate (ESR)'), lab('Complete blood count (CBC)')])).toBe(
      'Possible spinal infection: urgent MRI lumbar spine with and without contrast, ESR and CBC',
    );
    expect(fillSummary(summary, [])).toBe('Possible spinal infection: urgent MRI lumbar spine with and without contrast');
  });

  it('joins tests advised in words with the labs offered', () => {
    const summary = 'Possible neuropathy: {labs|glucose}; nerve conduction studies if persistent';
    expect(fillSummary(summary, [lab('Haemoglobin A1c (HbA1c)'), lab('Vitamin B12')])).toBe('Possible neuropathy: glucose, HbA1c and vitamin B12; nerve conduction studies if persistent');
    expect(fillSummary(summary, [])).toBe('Possible neuropathy: glucose; nerve conduction studies if persistent');
  });
});
