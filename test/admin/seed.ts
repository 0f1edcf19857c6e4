import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Card, CdsResponse } from '../../src/cards/types.js';
import { FIXTURES_DIR } from '../clinical/fixture.js';
import { postJson } from '../support/requests.js';

/**
 * Seeds a running service the way an EHR would: real hook calls (clinical fixtures), one with a
 * required prefetch key missing (412), one with an optional key missing (a data gap), and feedback
 * through the real feedback endpoint: an accepted suggestion, a coded override sent without display
 * text, a comment-only override, a plain dismissal, an EHR-local reason whose code and display name the
 * patient, and feedback on a card the service never issued.
 */
export const OWN_REASON_SYSTEM = 'https://fhir.spine-cds.org/CodeSystem/override-reason';
/** Free text a clinician might type; it must never reach the page, the JSON or the CSV. */
export const SECRET_COMMENT = 'Patient John Q Example MRN 998877 declined, see note';
/**
 * What an EHR really sent as a "coded" reason: a local system whose code and display are free text
 * naming the patient. Counted as a reason the service did not offer; only its system may show.
 */
export const EHR_LOCAL_REASON = { system: 'urn:ehr:local', code: 'Pt Jane Doe MRN 55512', display: 'Jane Doe MRN 55512 refused, husband says no' };
/** Fragments of EHR_LOCAL_REASON that must appear on no page, JSON, CSV or report. */
export const EHR_LOCAL_REASON_LEAKS = ['Jane Doe', '55512', 'husband', 'Pt Jane'];

interface Fixture {
  service: string;
  now: string;
  request: Record<string, unknown>;
}
const fixture = (name: string): Fixture => JSON.parse(readFileSync(join(FIXTURES_DIR, name), 'utf8')) as Fixture;

const FIXTURES = ['d10-low-value-lumbar-mri.json', 'd01-ces-urinary-retention.json', 'd09-persistent-sciatica.json', 'd11-chronic-lbp-mri.json', 'd02-myelopathy.json'];

export interface Seeded {
  /** Cards answered by the real service, per fixture. */
  cards: Card[];
  feedbackStored: number;
  /** The earliest instant a card was issued at (the fixtures' clocks). */
  earliest: Date;
}

/** `setNow` moves the service's clock to each fixture's instant (the clinical windows depend on it). */
export async function seedThroughHttp(baseUrl: string, setNow: (iso: string) => void): Promise<Seeded> {
  const cards: Card[] = [];
  let earliest = new Date();
  const call = async (f: Fixture, request: Record<string, unknown>): Promise<{ status: number; cards: Card[] }> => {
    setNow(f.now);
    if (new Date(f.now) < earliest) earliest = new Date(f.now);
    const res = await postJson(`${baseUrl}/cds-services/${f.service}`, request);
    return { status: res.status, cards: res.status === 200 ? (res.body as CdsResponse).cards : [] };
  };
  for (const name of FIXTURES) {
    const f = fixture(name);
    const res = await call(f, f.request);
    if (res.status !== 200) throw new Error(`seed: ${name} answered ${res.status}`);
    cards.push(...res.cards.map((c) => Object.assign(c, { serviceId: f.service })));
  }
  const base = fixture('d10-low-value-lumbar-mri.json');
  const prefetch = base.request.prefetch as Record<string, unknown>;
  const { conditions: _c, ...withoutConditions } = prefetch;
  const { procedures: _p, ...withoutProcedures } = prefetch;
  const missingRequired = await call(base, { ...base.request, hookInstance: crypto.randomUUID(), prefetch: withoutConditions });
  if (missingRequired.status !== 412) throw new Error(`seed: missing conditions answered ${missingRequired.status}, expected 412`);
  const missingOptional = await call(base, { ...base.request, hookInstance: crypto.randomUUID(), prefetch: withoutProcedures });
  if (missingOptional.status !== 200) throw new Error(`seed: missing procedures answered ${missingOptional.status}`);
  cards.push(...missingOptional.cards.map((c) => Object.assign(c, { serviceId: base.service })));

  const withSuggestion = cards.filter((c) => (c.suggestions?.length ?? 0) > 0);
  const others = cards.filter((c) => !withSuggestion.includes(c));
  const pool = [...withSuggestion.slice(1), ...others];
  if (withSuggestion.length === 0 || pool.length < 4) throw new Error(`seed: the fixtures gave too few cards (${cards.length})`);
  const at = new Date().toISOString();
  const serviceOf = (c: Card): string => (c as Card & { serviceId: string }).serviceId;
  const entries: Array<{ service: string; entry: Record<string, unknown> }> = [
    { service: serviceOf(withSuggestion[0]!), entry: { card: withSuggestion[0]!.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: withSuggestion[0]!.suggestions![0]!.uuid }], outcomeTimestamp: at } },
    // The service's own code, sent without display: the report must show the service's display text.
    { service: serviceOf(pool[0]!), entry: { card: pool[0]!.uuid, outcome: 'overridden', overrideReason: { reason: { system: OWN_REASON_SYSTEM, code: 'patient-declined' } }, outcomeTimestamp: at } },
    { service: serviceOf(pool[1]!), entry: { card: pool[1]!.uuid, outcome: 'overridden', overrideReason: { userComment: SECRET_COMMENT }, outcomeTimestamp: at } },
    // A plain dismissal: overridden, no reason, no comment.
    { service: serviceOf(pool[2]!), entry: { card: pool[2]!.uuid, outcome: 'overridden', outcomeTimestamp: at } },
    { service: serviceOf(pool[3]!), entry: { card: pool[3]!.uuid, outcome: 'overridden', overrideReason: { reason: EHR_LOCAL_REASON }, outcomeTimestamp: at } },
    { service: base.service, entry: { card: crypto.randomUUID(), outcome: 'overridden', overrideReason: { reason: { code: 'already-arranged' } }, outcomeTimestamp: at } },
  ];
  let feedbackStored = 0;
  for (const { service, entry } of entries) {
    const res = await postJson(`${baseUrl}/cds-services/${service}/feedback`, { feedback: [entry] });
    if (res.status !== 200) throw new Error(`seed: feedback answered ${res.status}: ${JSON.stringify(res.body)}`);
    feedbackStored += (res.body as { stored: number }).stored;
  }
  return { cards, feedbackStored, earliest };
}
