import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Card } from '../../src/cards/types.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { startService, type RunningService } from '../support/service.js';
import { loadClinicalFixtures, unmetExpectations, type ClinicalFixture } from '../clinical/fixture.js';

/**
 * Every clinical fixture (test/clinical/fixtures) through the whole service in this process, as its
 * prefetch would arrive: request validation, record building, findings, rules and cards. The HTTP
 * suites in test/clinical run the same cases over a socket and against a FHIR server child process;
 * this one needs neither, so the mutation run (`npm run mutation`, docs/mutation.md) can afford to
 * repeat it for every mutant of the clinical core, and coverage reaches the code it exercises.
 */
const fixtures = loadClinicalFixtures().filter(({ fixture }) => (fixture.modes ?? ['prefetch']).includes('prefetch'));

let service: RunningService;
let clock = new Date();
beforeAll(async () => {
  service = await startService({}, { now: () => clock });
}, 60_000);
afterAll(async () => {
  await service?.close();
});

async function cardsFor(fixture: ClinicalFixture): Promise<Card[]> {
  clock = new Date(fixture.now);
  const response = await service.app.inject({
    method: 'POST',
    url: `/cds-services/${fixture.service}`,
    payload: { ...fixture.request, hookInstance: randomUUID() },
  });
  expect(response.statusCode, response.body).toBe(200);
  const body = response.json() as { cards: Card[] };
  expect(checkCdsResponse(body)).toEqual([]);
  return body.cards;
}

describe('clinical fixtures, in process (prefetch)', () => {
  it.each(fixtures.map(({ file, fixture }) => [file, fixture] as const))('%s', async (_file, fixture) => {
    const cards = await cardsFor(fixture);
    expect(unmetExpectations(fixture, cards), `${fixture.name}\n${JSON.stringify(cards.map((c) => c.source.topic?.code))}`).toEqual([]);
  });
});
