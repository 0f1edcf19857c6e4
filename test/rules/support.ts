import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FhirResource, ServiceRequest } from 'fhir/r4';
import { SERVICES } from '../../hooks/services.js';
import type { HookName, RuleInput } from '../../hooks/types.js';
import { emptyRecord, type PatientRecord } from '../../src/data/record.js';
import { FINDING_IDS, type Evidence, type Finding, type FindingId, type FindingsResult } from '../../src/findings/types.js';
import type { Card } from '../../src/cards/types.js';
import { beforeAll, expect } from 'vitest';
import { createAdvisor, type Advisor } from '../../hooks/advise.js';
import { DEFAULT_RULE_SETTINGS, type RuleSettings } from '../../hooks/settings.js';
import { checkCdsResponse } from '../support/cds-response-check.js';

export const MAPPINGS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../mappings');
export const NOW = new Date('2026-11-20T12:00:00Z');
export const PATIENT_ID = 'pat-1';

/** ISO date `days` before NOW. */
export function daysAgo(days: number): string {
  return new Date(NOW.getTime() - days * 24 * 3600 * 1000).toISOString();
}

export type FindingSpec = Partial<Omit<Finding, 'id'>> & { evidence?: Evidence[] };

/**
 * A hand-built FindingsResult: every finding absent (the data was there and shows nothing) unless
 * given. A given finding defaults to present with one piece of Condition evidence.
 */
export function findingsResult(given: Partial<Record<FindingId, FindingSpec>>, dataQuality: FindingsResult['dataQuality'] = []): FindingsResult {
  const findings = {} as Record<FindingId, Finding>;
  for (const id of FINDING_IDS) {
    const spec = given[id];
    const state = spec?.state ?? (spec ? 'present' : 'absent');
    const evidence = spec?.evidence ?? (state === 'present' ? [{ reference: `Condition/${id.toLowerCase()}-1`, display: `${id} evidence`, date: daysAgo(10) }] : []);
    findings[id] = { id, label: spec?.label ?? `${id} label`, sources: ['S0'], state, evidence, ...spec } as Finding;
    findings[id].id = id;
    findings[id].evidence = evidence;
  }
  return { evaluatedAt: NOW.toISOString(), findings, dataQuality };
}

/** An episode finding (LBP/LEG/ARM) with onset `days` ago. */
export function episode(days: number | undefined, extra: Partial<Evidence> = {}): FindingSpec {
  const evidence: Evidence = { reference: `Condition/ep-${Math.random().toString(36).slice(2, 8)}`, display: 'episode', ...extra };
  if (days !== undefined) evidence.date = daysAgo(days);
  const spec: FindingSpec = { state: 'present', evidence: [evidence] };
  if (days !== undefined) spec.onset = daysAgo(days);
  return spec;
}

export function imagingDraft(id: string, system: string, code: string, display = `draft ${code}`, priority?: ServiceRequest['priority']): ServiceRequest {
  const sr: ServiceRequest = {
    resourceType: 'ServiceRequest',
    id,
    status: 'draft',
    intent: 'order',
    subject: { reference: `Patient/${PATIENT_ID}` },
    code: { coding: [{ system, code, display }] },
  };
  if (priority) sr.priority = priority;
  return sr;
}

export const CPT = 'http://www.ama-assn.org/go/cpt';
export const LOINC = 'http://loinc.org';
export const lumbarMriDraft = (id = 'mri-l-1', priority?: ServiceRequest['priority']) => imagingDraft(id, CPT, '72148', 'MRI lumbar spine', priority);
export const cervicalMriDraft = (id = 'mri-c-1') => imagingDraft(id, CPT, '72141', 'MRI cervical spine');

export function ruleInput(
  hook: HookName,
  findings: FindingsResult,
  opts: { orders?: FhirResource[]; record?: Partial<PatientRecord>; now?: Date } = {},
): RuleInput {
  const service = SERVICES.find((s) => s.hook === hook);
  if (!service) throw new Error(`no service for ${hook}`);
  const orders = opts.orders ?? [];
  return {
    service,
    context: { userId: 'Practitioner/dr-1', patientId: PATIENT_ID },
    ordersUnderReview: hook === 'patient-view' ? [] : orders,
    allDraftOrders: orders,
    record: { ...emptyRecord(), ...opts.record },
    findings,
    now: opts.now ?? NOW,
  };
}

export function topics(cards: Card[]): string[] {
  return cards.map((c) => c.source.topic?.code ?? '');
}

export function cardFor(cards: Card[], topic: string): Card {
  const card = cards.find((c) => c.source.topic?.code === topic);
  if (!card) throw new Error(`no ${topic} card among ${topics(cards).join(', ') || 'none'}`);
  return card;
}

/** The ServiceRequests a card suggests creating. */
export function suggestedOrders(card: Card): ServiceRequest[] {
  return (card.suggestions ?? []).flatMap((s) => (s.actions ?? []).filter((a) => a.type === 'create').map((a) => a.resource as ServiceRequest));
}

export function codesOf(sr: ServiceRequest): string[] {
  return (sr.code?.coding ?? []).map((c) => `${c.system}|${c.code}`);
}

/** Every suggested order of every card, with its region inferred from its CPT code. */
export function allSuggestedCodes(cards: Card[]): string[] {
  return cards.flatMap((c) => suggestedOrders(c).flatMap(codesOf));
}

/**
 * The rules with `settings` (the defaults unless given), built once for the calling test file. Every
 * response is checked against the CDS Hooks response contract before its cards are returned.
 */
export function adviseWithDefaults(settings: RuleSettings = DEFAULT_RULE_SETTINGS): (...args: Parameters<typeof ruleInput>) => Card[] {
  let advisor: Advisor | undefined;
  beforeAll(async () => {
    advisor = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings });
  });
  return (...args) => {
    const response = advisor!.advise(ruleInput(...args));
    expect(checkCdsResponse(response)).toEqual([]);
    return response.cards;
  };
}
