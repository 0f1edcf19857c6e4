import { randomUUID } from 'node:crypto';
import type { Observation } from 'fhir/r4';
import type { Card } from '../../src/cards/types.js';
import type { ClinicalFixture } from '../clinical/fixture.js';
import { postJson } from '../support/requests.js';
import type { RunningService } from '../support/service.js';

/** The cards the real service gives for a clinical fixture, its request POSTed over HTTP as an EHR would. */
export async function cardsFor(service: RunningService, fixture: ClinicalFixture, setClock: (now: Date) => void): Promise<Card[]> {
  setClock(new Date(fixture.now));
  const response = await postJson(`${service.baseUrl}/cds-services/${fixture.service}`, { ...fixture.request, hookInstance: randomUUID() });
  if (response.status !== 200) throw new Error(`${fixture.name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  return (response.body as { cards: Card[] }).cards;
}

/** Every Observation the request carries, by `Observation/{id}`. */
export function observationsOf(fixture: ClinicalFixture): Map<string, Observation> {
  const out = new Map<string, Observation>();
  const prefetch = (fixture.request as { prefetch?: Record<string, unknown> }).prefetch ?? {};
  for (const value of Object.values(prefetch)) {
    const entries = (value as { entry?: { resource?: { resourceType?: string; id?: string } }[] } | null)?.entry ?? [];
    for (const e of entries) if (e.resource?.resourceType === 'Observation' && e.resource.id) out.set(`Observation/${e.resource.id}`, e.resource as Observation);
  }
  return out;
}

/** The clinician-facing text of a card: what the Sandbox shows. */
export function clinicianText(card: Card): string {
  return [
    card.summary,
    card.detail ?? '',
    card.source.label,
    ...(card.suggestions ?? []).flatMap((s) => [s.label, ...(s.actions ?? []).map((a) => a.description)]),
    ...(card.links ?? []).map((l) => l.label),
  ].join('\n');
}

/**
 * A card as review reads it: what the clinician sees, in the order the Sandbox shows it, with the
 * per-call uuids left out so that only a change of wording, order or action shows as a diff.
 */
export function cardForReview(card: Card): string {
  const lines = [`# ${card.summary}`, '', `indicator: ${card.indicator}`, `source: ${card.source.label}${card.source.url ? ` <${card.source.url}>` : ''}`, ''];
  if (card.detail) lines.push(card.detail, '');
  for (const s of card.suggestions ?? []) {
    lines.push(`[${s.isRecommended ? 'recommended' : 'suggestion'}] ${s.label}`);
    for (const a of s.actions ?? []) lines.push(`  ${a.type}: ${a.description}`);
  }
  if ((card.suggestions ?? []).length > 0) lines.push('');
  for (const l of card.links ?? []) lines.push(`link: ${l.label} <${l.url}>`);
  for (const o of card.overrideReasons ?? []) lines.push(`override reason: ${o.display ?? o.code}`);
  lines.push('', '<!-- for machines: topic and provenance extension -->', '```json', JSON.stringify({ topic: card.source.topic, extension: card.extension }, null, 2), '```', '');
  return lines.join('\n');
}
