import { randomUUID } from 'node:crypto';
import type { ServiceRequest } from 'fhir/r4';
import type { Evidence } from '../findings/types.js';
import type { FiredFinding, OrderSuggestion, Recommendation } from './recommendation.js';
import { sourceReference } from './sources.js';
import type { Action, Card, Coding, Link, Suggestion } from './types.js';

export const SERVICE_NAME = 'Spine CDS';
export const SUMMARY_MAX = 139;
/** Bounds keep a card readable when a record has hundreds of matching resources. */
const MAX_EVIDENCE_PER_FINDING = 5;
const MAX_MISSING_LINES = 12;

export interface RenderContext {
  /** Canonical URL of the card-topic CodeSystem (mappings/codesystems/card-topic.json). */
  topicSystem: string;
  topicDisplay: Readonly<Record<string, string>>;
  /** `Patient/{id}` for ServiceRequest.subject. */
  patientReference: string;
  /** ISO date-time stamped on suggested orders (ServiceRequest.authoredOn). */
  authoredOn?: string;
}

/** Summaries must stay under 140 characters (CDS Hooks 2.0); cut on a word boundary if a rule overran. */
export function clampSummary(summary: string): string {
  const text = foldWhitespace(summary);
  if (text.length <= SUMMARY_MAX) return text;
  const cut = text.slice(0, SUMMARY_MAX - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > 80 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** Markdown special characters in EHR-supplied text must not change the card's layout. */
export function escapeMarkdown(text: string): string {
  // Most record text needs neither pass; a regex test is much cheaper than a replace that changes nothing.
  return foldWhitespace(MARKDOWN_SPECIAL.test(text) ? text.replace(MARKDOWN_SPECIALS, '\\$&') : text);
}

const MARKDOWN_SPECIAL = /[\\`*_{}[\]<>#|]/;
const MARKDOWN_SPECIALS = /[\\`*_{}[\]<>#|]/g;
/** Whitespace other than single spaces between words: only then does folding change the text. */
const UNFOLDED_WHITESPACE = /[^\S ]| {2}|^ | $/;

/** Runs of whitespace become one space, and the ends are trimmed. */
function foldWhitespace(text: string): string {
  return UNFOLDED_WHITESPACE.test(text) ? text.replace(/\s+/g, ' ').trim() : text;
}

function formatEvidence(evidence: Evidence): string {
  const parts: string[] = [escapeMarkdown(evidence.display || evidence.code?.code || 'recorded')];
  if (evidence.value && Number.isFinite(evidence.value.value)) {
    parts.push(`${evidence.value.value} ${escapeMarkdown(evidence.value.unit)}`.trim());
  }
  const side = [evidence.laterality, evidence.limb].filter((s) => s && s !== 'unspecified').join(' ');
  if (side) parts.push(side);
  parts.push(evidence.date ? evidence.date.slice(0, 10) : 'no date');
  if (evidence.reference) parts.push(`(${escapeMarkdown(evidence.reference)})`);
  return parts.join(', ');
}

function formatFired(finding: FiredFinding): string[] {
  const lines = [`- **${escapeMarkdown(finding.label)}** (${finding.id})${finding.note ? `: ${escapeMarkdown(finding.note)}` : ''}`];
  const shown = finding.evidence.slice(0, MAX_EVIDENCE_PER_FINDING);
  for (const e of shown) lines.push(`  - ${formatEvidence(e)}`);
  if (finding.evidence.length > shown.length) lines.push(`  - and ${finding.evidence.length - shown.length} more`);
  return lines;
}

function renderDetail(rec: Recommendation): string {
  const out: string[] = [];
  if (rec.guidance.length > 0) {
    out.push('**What to do**', ...rec.guidance.map((g) => `- ${g}`), '');
  }
  out.push('**Why**');
  if (rec.fired.length > 0) for (const f of rec.fired) out.push(...formatFired(f));
  else out.push('- No red-flag finding in the record.');
  out.push('');
  if (rec.notes.length > 0) out.push('**Notes**', ...rec.notes.map((n) => `- ${n}`), '');
  if (rec.missing.length > 0) {
    out.push('**Data missing or skipped**');
    const shown = rec.missing.slice(0, MAX_MISSING_LINES);
    for (const m of shown) out.push(`- ${escapeMarkdown(m.what)}: ${escapeMarkdown(m.why)}`);
    if (rec.missing.length > shown.length) out.push(`- and ${rec.missing.length - shown.length} more`);
    out.push('');
  }
  out.push(`**Sources** (${rec.row}): ${rec.sources.map((s) => sourceReference(s).label).join('; ')}`);
  return out.join('\n');
}

function serviceRequestFor(order: OrderSuggestion, ctx: RenderContext): ServiceRequest {
  const request: ServiceRequest = {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'order',
    category: [{ coding: [order.category] }],
    priority: order.priority,
    code: { coding: order.codes.map(({ system, code, display }) => (display ? { system, code, display } : { system, code })), text: order.display },
    subject: { reference: ctx.patientReference },
    reasonCode: [{ text: order.reasonText }],
  };
  if (ctx.authoredOn) request.authoredOn = ctx.authoredOn;
  if (order.reasonReferences.length > 0) request.reasonReference = order.reasonReferences.map((reference) => ({ reference }));
  return request;
}

function suggestionsFor(rec: Recommendation, ctx: RenderContext): Suggestion[] {
  const suggestions: Suggestion[] = [];
  for (const w of rec.withdrawals) {
    const action: Action = { type: 'delete', description: `Withdraw the draft order: ${w.display}`, resourceId: w.resourceId };
    suggestions.push({ label: `Withdraw ${w.display}`, uuid: randomUUID(), isRecommended: true, actions: [action] });
  }
  for (const order of rec.orders) {
    const action: Action = {
      type: 'create',
      description: `Order ${order.display} (${order.priority})`,
      resource: serviceRequestFor(order, ctx),
    };
    const suggestion: Suggestion = { label: `Order ${order.display} (${order.priority})`, uuid: randomUUID(), actions: [action] };
    if (order.recommended) suggestion.isRecommended = true;
    suggestions.push(suggestion);
  }
  return suggestions;
}

function linksFor(rec: Recommendation): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const id of rec.sources) {
    const ref = sourceReference(id);
    if (!ref.url || seen.has(ref.url)) continue;
    seen.add(ref.url);
    links.push({ label: ref.label, url: ref.url, type: 'absolute' });
  }
  return links;
}

/** Turns one Recommendation into a CDS Hooks 2.0 Card; every card and suggestion gets a fresh uuid. */
export function renderCard(rec: Recommendation, ctx: RenderContext): Card {
  const guideline = rec.sources.map(sourceReference).find((s) => s.url !== undefined);
  const topic: Coding = { system: ctx.topicSystem, code: rec.topic };
  const topicDisplay = ctx.topicDisplay[rec.topic];
  if (topicDisplay) topic.display = topicDisplay;
  const card: Card = {
    uuid: randomUUID(),
    summary: clampSummary(rec.summary),
    detail: renderDetail(rec),
    indicator: rec.indicator,
    source: {
      label: guideline ? `${SERVICE_NAME} — ${guideline.label}` : SERVICE_NAME,
      topic,
    },
  };
  if (guideline?.url) card.source.url = guideline.url;
  const suggestions = suggestionsFor(rec, ctx);
  if (suggestions.length > 0) {
    card.suggestions = suggestions;
    // Each suggested order stands alone (an MRI and a referral are not alternatives), so any may be taken.
    card.selectionBehavior = 'any';
  }
  if (rec.overrideReasons.length > 0) card.overrideReasons = rec.overrideReasons.map((c) => ({ ...c }));
  const links = linksFor(rec);
  if (links.length > 0) card.links = links;
  return card;
}

export function renderCards(recs: readonly Recommendation[], ctx: RenderContext): Card[] {
  return recs.map((r) => renderCard(r, ctx));
}
