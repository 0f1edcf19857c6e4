import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Card } from '../../src/cards/types.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { loadBundle, startFhirServer } from '../support/fhir-server.js';
import { forFhirServer, loadClinicalFixtures, unmetExpectations, type ClinicalFixture } from './fixture.js';

/**
 * The clinical suite: every request fixture in test/clinical/fixtures is POSTed over real HTTP to the
 * real service, as an EHR would, and its cards are checked against the fixture and against the
 * CDS Hooks response rules (checklist section 4).
 */
const fixtures = loadClinicalFixtures();
const DECISION_ROWS = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7', 'D8', 'D9', 'D10', 'D11', 'D12', 'D13', 'D14'];
const SPEC_EDGE_CASES = ['statuses', 'units', 'windows', 'arm only', 'arm and leg', 'bilateral legs', 'age exactly 50', 'duplicate avoidance', 'no data'];
/** The record shapes of issue 13 (real EHR shapes), each with at least one case. */
const EHR_SHAPES = ['exam observation', 'procedure', 'imaging done', 'laterality', 'unknown is not absent', 'failed fetch', 'children', 'us core'];

let service: RunningService;
let fhir: { baseUrl: string; stop(): Promise<void> };
let clock = new Date();
const TOKEN = 'clinical-fixture-token';

beforeAll(async () => {
  fhir = await startFhirServer({ requireToken: TOKEN });
  service = await startService({ FHIR_SERVER_ALLOWLIST: new URL(fhir.baseUrl).origin, FHIR_DEADLINE_MS: '10000' }, { now: () => clock });
}, 120_000);
afterAll(async () => {
  await service?.close();
  await fhir?.stop();
});

const runsIn = (fixture: ClinicalFixture, mode: 'prefetch' | 'fhirServer') => (fixture.modes ?? ['prefetch', 'fhirServer']).includes(mode);

describe('clinical suite coverage', () => {
  it.each(DECISION_ROWS)('has a case for decision row %s', (row) => {
    expect(fixtures.filter(({ fixture }) => fixture.covers.includes(row)).map((f) => f.file)).not.toEqual([]);
  });
  it.each(SPEC_EDGE_CASES)('has a case for the edge case "%s"', (edge) => {
    expect(fixtures.filter(({ fixture }) => fixture.covers.includes(edge)).map((f) => f.file)).not.toEqual([]);
  });
  it.each(EHR_SHAPES)('has a case for the EHR shape "%s"', (shape) => {
    expect(fixtures.filter(({ fixture }) => fixture.covers.includes(shape)).map((f) => f.file)).not.toEqual([]);
  });
});

describe('clinical cases over HTTP', () => {
  it.each(fixtures.filter(({ fixture }) => runsIn(fixture, 'prefetch')).map(({ file, fixture }) => [file, fixture] as const))('%s', async (_file, fixture) => {
    clock = new Date(fixture.now);
    const body = { ...fixture.request, hookInstance: randomUUID() };
    const response = await postJson(`${service.baseUrl}/cds-services/${fixture.service}`, body);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(checkCdsResponse(response.body)).toEqual([]);
    const cards = (response.body as { cards: Card[] }).cards;
    expect(unmetExpectations(fixture, cards), `${fixture.name}\n${JSON.stringify(cards.map((c) => [c.source.topic?.code, c.summary]))}`).toEqual([]);
  });
});

describe('clinical cases through the FHIR server (nothing prefetched)', () => {
  const cases = fixtures.filter(({ fixture }) => runsIn(fixture, 'fhirServer'));
  it('runs most cases in both modes', () => {
    expect(cases.length).toBeGreaterThan(fixtures.length * 0.9);
    for (const { file, fixture } of fixtures) if (!runsIn(fixture, 'fhirServer')) expect(fixture.modesReason, file).toBeTruthy();
  });
  it.each(cases.map(({ file, fixture }, i) => [file, fixture, i] as const))('%s', async (_file, fixture, i) => {
    clock = new Date(fixture.now);
    const { transaction, request, patientId } = forFhirServer(fixture, `c${i}`);
    await loadBundle(fhir.baseUrl, transaction, TOKEN);
    const body = {
      ...request,
      hookInstance: randomUUID(),
      fhirServer: fhir.baseUrl,
      fhirAuthorization: { access_token: TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'spine-cds', patient: patientId },
    };
    const response = await postJson(`${service.baseUrl}/cds-services/${fixture.service}`, body);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(checkCdsResponse(response.body)).toEqual([]);
    const cards = (response.body as { cards: Card[] }).cards;
    const renamed = { ...fixture, request: { ...fixture.request, context: { ...fixture.request.context, patientId } } };
    expect(unmetExpectations(renamed, cards), `${fixture.name}\n${JSON.stringify(cards.map((c) => [c.source.topic?.code, c.summary]))}`).toEqual([]);
  });
});
