import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Card } from '../../src/cards/types.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { loadBundle, startFhirServer } from '../support/fhir-server.js';
import { postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { forFhirServer, loadClinicalFixtures, unmetExpectations, type ClinicalFixture } from './fixture.js';

/**
 * The mimicker cases (test/clinical/fixtures/mim-*.json) in both data paths: prefetched, and with
 * no prefetch at all so the service reads the kit's real FHIR server on loopback. On top of each
 * fixture's own expectations, the rules of the issue that hold for every case are checked here:
 * one card per topic, the aortic emergency first, no "no red flags" while a mimicker fires, and the
 * "another cause" note naming the mimicker cards most urgent first. In the FHIR-server mode each
 * case's resources are renamed (forFhirServer, as clinical.test.ts does): fixtures reuse ids, and on
 * one server a later case would overwrite an earlier one's Patient and Conditions.
 */
const TOKEN = 'mimicker-fixture-token';
const MIMICKER_TOPICS = ['vascular-emergency', 'possible-aaa', 'dvt-suspected', 'vascular-claudication', 'spinal-stenosis', 'neuropathy-workup', 'hip-pathology'];
const cases = loadClinicalFixtures().filter(({ file }) => file.startsWith('mim-'));

let fhir: { baseUrl: string; stop(): Promise<void> };
let service: RunningService;
let clock = new Date();

/** Card-topic displays (the public CodeSystem), which the "another cause" note quotes. */
const TOPIC_BY_DISPLAY = new Map(
  (JSON.parse(readFileSync(new URL('../../mappings/codesystems/card-topic.json', import.meta.url), 'utf8')) as { concept: { code: string; display: string }[] }).concept.map((c) => [c.display, c.code]),
);
const ANOTHER_CAUSE = /Another cause may explain the pain: see the ((?:"[^"]+"(?:, )?)+) cards?\./;
/** How many notes named two mimickers or more: the ordering check must not pass on single names alone. */
let notesNamingSeveral = 0;

async function call(fixture: ClinicalFixture, path: 'prefetch' | 'fhirServer', tag: string): Promise<{ cards: Card[]; patientId: string }> {
  clock = new Date(fixture.now);
  let body: Record<string, unknown> = { ...fixture.request, hookInstance: randomUUID() };
  let patientId = fixture.request.context.patientId;
  if (path === 'fhirServer') {
    const renamed = forFhirServer(fixture, tag);
    await loadBundle(fhir.baseUrl, renamed.transaction, TOKEN);
    patientId = renamed.patientId;
    body = {
      ...renamed.request,
      hookInstance: randomUUID(),
      fhirServer: fhir.baseUrl,
      fhirAuthorization: { access_token: TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'spine-cds', patient: patientId },
    };
  }
  const response = await postJson(`${service.baseUrl}/cds-services/${fixture.service}`, body);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(checkCdsResponse(response.body)).toEqual([]);
  return { cards: (response.body as { cards: Card[] }).cards, patientId };
}

function issueRules(cards: Card[]): string[] {
  const problems: string[] = [];
  const topics = cards.map((c) => c.source.topic?.code ?? '');
  if (new Set(topics).size !== topics.length) problems.push(`a topic twice: ${topics.join(', ')}`);
  if (topics.includes('vascular-emergency') && topics[0] !== 'vascular-emergency') problems.push(`vascular emergency is not first: ${topics.join(', ')}`);
  if (topics.some((t) => MIMICKER_TOPICS.includes(t))) {
    for (const c of cards) if (/no red flags/i.test(`${c.summary}\n${c.detail ?? ''}`)) problems.push(`${c.source.topic?.code} says "no red flags" beside a mimicker card`);
  }
  // The myeloma screen comes from seed S1: a card that advises it cites S1 among its sources.
  for (const c of cards) {
    const sources = (c.extension?.['org.spine-cds.provenance'] as { sources?: string[] } | undefined)?.sources ?? [];
    if (/protein electrophoresis/i.test(`${c.summary}\n${c.detail ?? ''}`) && !sources.includes('S1')) problems.push(`${c.source.topic?.code}: advises the myeloma screen without citing S1 (sources ${sources.join(', ')})`);
  }
  // The note names the mimicker cards shown, most urgent first (the order of MIMICKER_TOPICS).
  const shown = MIMICKER_TOPICS.filter((t) => topics.includes(t));
  for (const c of cards) {
    const m = ANOTHER_CAUSE.exec(c.detail ?? '');
    if (!m?.[1]) continue;
    const named = [...m[1].matchAll(/"([^"]+)"/g)].map((q) => TOPIC_BY_DISPLAY.get(q[1] ?? '') ?? `unknown "${q[1]}"`);
    if (named.length > 1) notesNamingSeveral++;
    if (JSON.stringify(named) !== JSON.stringify(shown)) problems.push(`${c.source.topic?.code}: the note names ${named.join(', ')}; want ${shown.join(', ')} (most urgent first)`);
  }
  return problems;
}

beforeAll(async () => {
  fhir = await startFhirServer({ requireToken: TOKEN });
  service = await startService({ FHIR_SERVER_ALLOWLIST: new URL(fhir.baseUrl).origin, FHIR_DEADLINE_MS: '10000' }, { now: () => clock });
}, 120_000);

afterAll(async () => {
  await service?.close();
  await fhir?.stop();
});

describe('mimicker cases', () => {
  it('are counted rightly in docs/mimickers.md', () => {
    const doc = readFileSync(new URL('../../docs/mimickers.md', import.meta.url), 'utf8');
    expect(/mim-\*\.json` \((\d+) cases\)/.exec(doc)?.[1]).toBe(String(cases.length));
  });

  it('cover every mimicker row', () => {
    for (const row of ['M1', 'M2', 'M3', 'M4', 'M5', 'M6', 'M7', 'M8']) expect(cases.some(({ fixture }) => fixture.covers.includes(row)), row).toBe(true);
  });

  for (const path of ['prefetch', 'fhirServer'] as const) {
    it.each(cases.map(({ file, fixture }, i) => [file, fixture, i] as const))(`${path}: %s`, async (_file, fixture, i) => {
      const { cards, patientId } = await call(fixture, path, `m${i}`);
      const summaries = JSON.stringify(cards.map((c) => [c.source.topic?.code, c.summary]));
      const asCalled = { ...fixture, request: { ...fixture.request, context: { ...fixture.request.context, patientId } } };
      expect([...unmetExpectations(asCalled, cards), ...issueRules(cards)], `${fixture.name}\n${summaries}`).toEqual([]);
    });
  }

  it('checked the note on a case that names several mimickers', () => {
    expect(notesNamingSeveral).toBeGreaterThan(0);
  });
});
