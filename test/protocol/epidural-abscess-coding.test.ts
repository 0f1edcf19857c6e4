import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Card } from '../../src/cards/types.js';
import { postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';

/**
 * An epidural abscess makes the infection card critical (docs/clinical-rules.md, Decision table D5).
 * Which codes say "epidural abscess" is the value set mappings/valuesets/epidural-abscess.json, read
 * with its code systems: a local code that happens to spell 61974008 or G06.1 is another concept.
 * The record is the D5 clinical case, as an EHR sends it, with the abscess Condition's coding swapped.
 */
const FIXTURE = path.join(import.meta.dirname, '..', 'clinical', 'fixtures', 'd05-epidural-abscess.json');
const LOCAL_SYSTEM = 'http://hospital.example.org/fhir/CodeSystem/problem-list';

interface Coding {
  system: string;
  code: string;
  display: string;
}

let service: RunningService;
let now: Date;

beforeAll(async () => {
  now = new Date((JSON.parse(readFileSync(FIXTURE, 'utf8')) as { now: string }).now);
  service = await startService({}, { now: () => now });
});
afterAll(async () => {
  await service.close();
});

/** The D5 request with the abscess Condition coded `coding` (text as its display). */
function requestWith(coding: Coding): unknown {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { request: { prefetch: { conditions: { entry: { resource: Record<string, unknown> }[] } } } };
  const abscess = fixture.request.prefetch.conditions.entry.find((e) => e.resource.id === 'abs');
  if (!abscess) throw new Error('the D5 fixture lost its abscess Condition');
  abscess.resource.code = { coding: [coding], text: coding.display };
  return fixture.request;
}

async function infectionCard(coding: Coding): Promise<Card | undefined> {
  const res = await postJson(`${service.baseUrl}/cds-services/spine-cds-patient-view`, requestWith(coding));
  expect(res.status).toBe(200);
  return (res.body as { cards: Card[] }).cards.find((c) => c.source.topic?.code === 'infection-suspected');
}

describe('epidural abscess is read from its value set, system and code', () => {
  it.each([
    ['SNOMED CT', { system: 'http://snomed.info/sct', code: '61974008', display: 'Spinal epidural abscess' }],
    ['ICD-10-CM', { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G06.1', display: 'Intraspinal abscess and granuloma' }],
    ['WHO ICD-10', { system: 'http://hl7.org/fhir/sid/icd-10', code: 'G06.1', display: 'Intraspinal abscess and granuloma' }],
  ])('%s coded abscess: critical infection card', async (_system, coding) => {
    expect((await infectionCard(coding))?.indicator).toBe('critical');
  });

  it.each([
    ['61974008', { system: LOCAL_SYSTEM, code: '61974008', display: 'Lumbar discitis' }],
    ['G06.1', { system: LOCAL_SYSTEM, code: 'G06.1', display: 'Lumbar discitis' }],
  ])('discitis under a local code spelt %s: a spinal infection, not an epidural abscess', async (_code, coding) => {
    // The discitis is found by name (a spinal infection), so the infection card stays; only the
    // epidural-abscess judgement, and with it the critical indicator, must not come from the code string.
    const card = await infectionCard(coding);
    expect(card?.indicator).toBe('warning');
  });
});
