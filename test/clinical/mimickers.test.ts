import { randomUUID } from 'node:crypto';
import type { Bundle, FhirResource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactionOf } from '../../kit/fixtures/external.js';
import type { Card } from '../../src/cards/types.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { loadBundle, startFhirServer } from '../support/fhir-server.js';
import { postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { loadClinicalFixtures, unmetExpectations, type ClinicalFixture } from './fixture.js';

/**
 * The mimicker cases (test/clinical/fixtures/mim-*.json) in both data paths: prefetched, and with
 * no prefetch at all so the service reads the kit's real FHIR server on loopback. On top of each
 * fixture's own expectations, the rules of the issue that hold for every case are checked here:
 * one card per topic, the aortic emergency first, and no "no red flags" while a mimicker fires.
 */
const TOKEN = 'mimicker-fixture-token';
const MIMICKER_TOPICS = ['vascular-emergency', 'possible-aaa', 'dvt-suspected', 'vascular-claudication', 'spinal-stenosis', 'neuropathy-workup', 'hip-pathology'];
const cases = loadClinicalFixtures().filter(({ file }) => file.startsWith('mim-'));

let fhir: { baseUrl: string; stop(): Promise<void> };
let service: RunningService;
let clock = new Date();

function resourcesOf(fixture: ClinicalFixture): FhirResource[] {
  const prefetch = (fixture.request.prefetch ?? {}) as Record<string, unknown>;
  const out: FhirResource[] = [];
  for (const value of Object.values(prefetch)) {
    const v = value as Bundle | FhirResource | null;
    if (!v) continue;
    if (v.resourceType !== 'Bundle') out.push(v);
    else for (const e of v.entry ?? []) if (e.resource) out.push(e.resource);
  }
  return out;
}

async function call(fixture: ClinicalFixture, path: 'prefetch' | 'fhirServer'): Promise<Card[]> {
  clock = new Date(fixture.now);
  const body: Record<string, unknown> = { ...fixture.request, hookInstance: randomUUID() };
  if (path === 'fhirServer') {
    delete body.prefetch;
    body.fhirServer = fhir.baseUrl;
    body.fhirAuthorization = { access_token: TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'spine-cds', patient: fixture.request.context.patientId };
  }
  const response = await postJson(`${service.baseUrl}/cds-services/${fixture.service}`, body);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(checkCdsResponse(response.body)).toEqual([]);
  return (response.body as { cards: Card[] }).cards;
}

function issueRules(cards: Card[]): string[] {
  const problems: string[] = [];
  const topics = cards.map((c) => c.source.topic?.code ?? '');
  if (new Set(topics).size !== topics.length) problems.push(`a topic twice: ${topics.join(', ')}`);
  if (topics.includes('vascular-emergency') && topics[0] !== 'vascular-emergency') problems.push(`vascular emergency is not first: ${topics.join(', ')}`);
  if (topics.some((t) => MIMICKER_TOPICS.includes(t))) {
    for (const c of cards) if (/no red flags/i.test(`${c.summary}\n${c.detail ?? ''}`)) problems.push(`${c.source.topic?.code} says "no red flags" beside a mimicker card`);
  }
  return problems;
}

beforeAll(async () => {
  fhir = await startFhirServer({ requireToken: TOKEN });
  for (const { fixture } of cases) await loadBundle(fhir.baseUrl, transactionOf(resourcesOf(fixture)), TOKEN);
  service = await startService({ FHIR_SERVER_ALLOWLIST: new URL(fhir.baseUrl).origin, FHIR_DEADLINE_MS: '10000' }, { now: () => clock });
}, 120_000);

afterAll(async () => {
  await service?.close();
  await fhir?.stop();
});

describe('mimicker cases', () => {
  it('cover every mimicker row', () => {
    for (const row of ['M1', 'M2', 'M3', 'M4', 'M5', 'M6', 'M7', 'M8']) expect(cases.some(({ fixture }) => fixture.covers.includes(row)), row).toBe(true);
  });

  for (const path of ['prefetch', 'fhirServer'] as const) {
    it.each(cases.map(({ file, fixture }) => [file, fixture] as const))(`${path}: %s`, async (_file, fixture) => {
      const cards = await call(fixture, path);
      const summaries = JSON.stringify(cards.map((c) => [c.source.topic?.code, c.summary]));
      expect([...unmetExpectations(fixture, cards), ...issueRules(cards)], `${fixture.name}\n${summaries}`).toEqual([]);
    });
  }
});
