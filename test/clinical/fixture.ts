import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, BundleEntry, FhirResource, ServiceRequest } from 'fhir/r4';
import { z } from 'zod';
import type { Card } from '../../src/cards/types.js';

/**
 * A clinical case: a full CDS Hooks request as an EHR would send it, and the cards it must and must
 * not produce. Written from docs/clinical-rules.md, not from the service's output.
 */
const CardExpectationSchema = z.strictObject({
  topic: z.string(),
  indicator: z.enum(['info', 'warning', 'critical']).optional(),
  /** Orders (`system|code`) the card must suggest creating, at this priority. */
  orders: z.array(z.strictObject({ code: z.string().includes('|'), priority: z.enum(['stat', 'urgent', 'routine']) })).optional(),
  /** Draft orders the card must offer to withdraw (delete resourceId). */
  withdraws: z.array(z.string()).optional(),
  detailIncludes: z.array(z.string()).optional(),
  summaryIncludes: z.array(z.string()).optional(),
  summaryExcludes: z.array(z.string()).optional(),
  overrideReasons: z.boolean().optional(),
});

export const ClinicalFixtureSchema = z.strictObject({
  name: z.string(),
  /** Decision rows (D1–D14) and spec edge cases this case covers. */
  covers: z.array(z.string()).min(1),
  now: z.iso.datetime(),
  service: z.enum(['spine-cds-patient-view', 'spine-cds-order-select', 'spine-cds-order-sign']),
  /**
   * Data paths the case runs through (default both): prefetch as given, and the FHIR server (every
   * prefetched resource loaded into the kit's FHIR server, nothing prefetched). A case about a
   * prefetch-only shape (an OperationOutcome for a key) says prefetch only, with its reason.
   */
  modes: z.array(z.enum(['prefetch', 'fhirServer'])).min(1).optional(),
  modesReason: z.string().optional(),
  request: z.looseObject({ hook: z.string(), context: z.looseObject({ patientId: z.string() }) }),
  expect: z.strictObject({
    cards: z.array(CardExpectationSchema),
    absentTopics: z.array(z.string()).optional(),
    /** The response has exactly the topics of `cards`, no more. */
    exactTopics: z.boolean().optional(),
    /** Orders (`system|code`) no card may suggest. */
    ordersNotSuggested: z.array(z.string()).optional(),
  }),
});
export type ClinicalFixture = z.infer<typeof ClinicalFixtureSchema>;

export const FIXTURES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function loadClinicalFixtures(): { file: string; fixture: ClinicalFixture }[] {
  return readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const parsed = ClinicalFixtureSchema.safeParse(JSON.parse(readFileSync(path.join(FIXTURES_DIR, file), 'utf8')));
      if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
      return { file, fixture: parsed.data };
    });
}

function suggested(card: Card): ServiceRequest[] {
  return (card.suggestions ?? []).flatMap((s) => (s.actions ?? []).filter((a) => a.type === 'create' && a.resource?.resourceType === 'ServiceRequest').map((a) => a.resource as ServiceRequest));
}

function codes(sr: ServiceRequest): string[] {
  return (sr.code?.coding ?? []).map((c) => `${c.system}|${c.code}`);
}

/** Every way the cards fall short of the fixture's expectations; empty when they meet them. */
export function unmetExpectations(fixture: ClinicalFixture, cards: Card[]): string[] {
  const problems: string[] = [];
  const topicOf = (c: Card) => c.source.topic?.code ?? '(no topic)';
  const got = cards.map(topicOf);
  const patientRef = `Patient/${fixture.request.context.patientId}`;
  for (const want of fixture.expect.cards) {
    const card = cards.find((c) => topicOf(c) === want.topic);
    if (!card) {
      problems.push(`missing ${want.topic} card (got: ${got.join(', ') || 'none'})`);
      continue;
    }
    if (want.indicator && card.indicator !== want.indicator) problems.push(`${want.topic}: indicator ${card.indicator}, want ${want.indicator}`);
    for (const order of want.orders ?? []) {
      const sr = suggested(card).find((s) => codes(s).includes(order.code));
      if (!sr) problems.push(`${want.topic}: does not suggest ${order.code}`);
      else if (sr.priority !== order.priority) problems.push(`${want.topic}: ${order.code} priority ${sr.priority}, want ${order.priority}`);
    }
    const deletes = (card.suggestions ?? []).flatMap((s) => s.actions ?? []).filter((a) => a.type === 'delete').map((a) => a.resourceId);
    for (const id of want.withdraws ?? []) if (!deletes.includes(id)) problems.push(`${want.topic}: no delete action for ${id}`);
    for (const text of want.detailIncludes ?? []) if (!card.detail?.includes(text)) problems.push(`${want.topic}: detail lacks "${text}"`);
    for (const text of want.summaryIncludes ?? []) if (!card.summary.includes(text)) problems.push(`${want.topic}: summary lacks "${text}"`);
    for (const text of want.summaryExcludes ?? []) if (card.summary.includes(text)) problems.push(`${want.topic}: summary says "${text}"`);
    if (want.overrideReasons && !(card.overrideReasons && card.overrideReasons.length > 0)) problems.push(`${want.topic}: no overrideReasons`);
  }
  for (const topic of fixture.expect.absentTopics ?? []) if (got.includes(topic)) problems.push(`unexpected ${topic} card`);
  if (fixture.expect.exactTopics) {
    const want = fixture.expect.cards.map((c) => c.topic).sort();
    if (JSON.stringify([...got].sort()) !== JSON.stringify(want)) problems.push(`topics ${JSON.stringify(got)}, want exactly ${JSON.stringify(want)}`);
  }
  const all = cards.flatMap(suggested);
  for (const code of fixture.expect.ordersNotSuggested ?? []) if (all.some((s) => codes(s).includes(code))) problems.push(`suggests ${code}, which it must not`);
  // Every suggested order, in every case: a ServiceRequest for this patient with a priority.
  for (const sr of all) {
    if (sr.subject?.reference !== patientRef) problems.push(`suggested order subject ${sr.subject?.reference}, want ${patientRef}`);
    if (!sr.priority) problems.push(`suggested order ${codes(sr).join(',')} has no priority`);
  }
  return problems;
}

/**
 * The same case for the FHIR-server path: every resource of the prefetch, renamed so that cases do not
 * share ids on one server (`<id>-<tag>`, patient `<tag>-<patient>`), as a transaction to load, and the
 * request without prefetch. References to the patient are renamed in the whole request, draft orders
 * included; the fixture's expectations name draft orders, which keep their ids.
 */
export function forFhirServer(fixture: ClinicalFixture, tag: string): { transaction: Bundle; request: Record<string, unknown>; patientId: string } {
  const oldId = fixture.request.context.patientId;
  const patientId = `${tag}-${oldId}`.slice(0, 64);
  const text = JSON.stringify(fixture.request).split(`"Patient/${oldId}"`).join(`"Patient/${patientId}"`);
  const request = JSON.parse(text) as Record<string, unknown> & { context: Record<string, unknown>; prefetch?: Record<string, unknown> };
  request.context.patientId = patientId;
  const resources: FhirResource[] = [];
  for (const value of Object.values(request.prefetch ?? {})) {
    if (!value || typeof value !== 'object') continue;
    const v = value as { resourceType?: string; entry?: { resource?: FhirResource }[] };
    if (v.resourceType === 'Bundle') {
      for (const e of v.entry ?? []) if (e.resource) resources.push(e.resource);
    } else if (v.resourceType === 'Patient') {
      resources.push(value as FhirResource);
    }
  }
  const seen = new Set<string>();
  const entries: BundleEntry[] = [];
  for (const r of resources) {
    const id = r.resourceType === 'Patient' ? patientId : `${r.id ?? entries.length}-${tag}`.slice(-64);
    if (seen.has(`${r.resourceType}/${id}`)) continue;
    seen.add(`${r.resourceType}/${id}`);
    entries.push({ resource: { ...r, id } as FhirResource, request: { method: 'PUT', url: `${r.resourceType}/${id}` } });
  }
  delete request.prefetch;
  return { transaction: { resourceType: 'Bundle', type: 'transaction', entry: entries }, request, patientId };
}
