import { randomUUID } from 'node:crypto';
import type { ServiceRequest } from 'fhir/r4';
import type { Evidence } from '../findings/types.js';
import type { FiredFinding, OrderSuggestion, Recommendation } from './recommendation.js';
import type { SourceReference } from './sources.js';
import { evidenceResult, listInWords, recordPart, withoutResourceIds } from './text.js';
import type { Action, Card, Coding, Link, Suggestion } from './types.js';

export const SERVICE_NAME = 'Spine CDS';
export const SUMMARY_MAX = 139;
/** Bounds keep a card readable when a record has hundreds of matching resources. */
const MAX_EVIDENCE_PER_FINDING = 5;
/** A card reads in seconds: at most three links. */
export const MAX_LINKS = 3;
/** Where machines find what the clinician text leaves out (CDS Hooks 2.0 card `extension`). */
export const PROVENANCE_EXTENSION = 'org.spine-cds.provenance';

export interface RenderContext {
  /** Canonical URL of the card-topic CodeSystem (mappings/codesystems/card-topic.json). */
  topicSystem: string;
  topicDisplay: Readonly<Record<string, string>>;
  /** `Patient/{id}` for ServiceRequest.subject. */
  patientReference: string;
  /** ISO date-time stamped on suggested orders (ServiceRequest.authoredOn). */
  authoredOn?: string;
  /** The sources cards may cite, by id (the content's data); an id missing here is shown as itself. */
  sources: Readonly<Record<string, SourceReference>>;
  /** Parts of the record (prefetch keys) that could not be read: any card may rest on them. */
  recordGaps?: readonly { key: string; reason: string; bounded?: boolean }[];
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

/** An evidence line: what was charted, its result as charted, side, and date; never its resource id. */
function formatEvidence(evidence: Evidence): string {
  let text = escapeMarkdown(evidence.display || evidence.code?.display || 'recorded');
  const result = evidence.value?.unit === 'a' ? undefined : evidenceResult(evidence); // an age is in the display already
  if (result && !text.includes(escapeMarkdown(result))) text += ` ${escapeMarkdown(result)}`;
  const side = [evidence.laterality, evidence.limb].filter((s) => s && s !== 'unspecified').join(' ');
  if (side) text += `, ${side}`;
  if (evidence.value?.unit === 'a') return text; // an age is as of today
  return `${text}, ${evidence.date ? evidence.date.slice(0, 10) : 'date not recorded'}`;
}

/** The same charted entry backs several findings (sciatica on both sides is LEG and BILAT): shown once. */
function evidenceKey(e: Evidence): string {
  return e.reference ?? `${e.display}|${e.date ?? ''}`;
}

function formatFired(finding: FiredFinding, seen: Set<string>): string[] {
  const fresh = finding.evidence.filter((e) => !seen.has(evidenceKey(e)));
  // Nothing new to show (its entries are listed under another finding): the extension still names it.
  if (finding.evidence.length > 0 && fresh.length === 0) return [];
  for (const e of fresh) seen.add(evidenceKey(e));
  const head = `- **${escapeMarkdown(finding.label)}**`;
  const shown = fresh.slice(0, MAX_EVIDENCE_PER_FINDING);
  const note = finding.note ? ` (${escapeMarkdown(withoutResourceIds(finding.note))})` : '';
  if (fresh.length === 1 && shown[0]) return [`${head}: ${formatEvidence(shown[0])}${note}`];
  const lines = [`${head}${note}`];
  for (const e of shown) lines.push(`  - ${formatEvidence(e)}`);
  if (fresh.length > shown.length) lines.push(`  - and ${fresh.length - shown.length} more`);
  return lines;
}

/**
 * The detail reads in seconds: what to do first, then only the findings that fired, then what else
 * matters (notes, among them the one line naming checks that could not be made, where the rule says
 * they bear on its judgement). Row ids, finding codes, resource ids and sources stay out of it: the
 * card's topic, links and extension carry them.
 */
const NOT_READ = 'Not read from the record (check by hand)';
const UNCHECKED_RED_FLAGS = /^Red-flag checks not made/;

/**
 * Parts of the record that were not read, on every card (they may hold what would change it), in
 * one line with the red-flag checks not made where the card has that line: one line for what is missing.
 */
function withRecordGaps(notes: string[], gaps: RenderContext['recordGaps']): string[] {
  // A cut made by this service's own work limits says what was cut: that is what to check by hand.
  const parts = [...new Set((gaps ?? []).map((g) => (g.bounded ? `${recordPart(g.key)}: ${g.reason}` : recordPart(g.key))))];
  if (parts.length === 0) return notes;
  const at = notes.findIndex((n) => UNCHECKED_RED_FLAGS.test(n));
  if (at < 0) return [...notes, `${NOT_READ}: ${parts.join('; ')}.`];
  return notes.map((n, i) => (i === at ? `${n} ${NOT_READ}: ${parts.join('; ')}.` : n));
}

function renderDetail(rec: Recommendation, ctx: RenderContext): string {
  const out: string[] = [];
  // A "Blood tests: {labs}" line with no lab left to offer (all on record) says nothing: it goes.
  const guidance = rec.guidance.flatMap((g) => (g.includes('{labs}') && !labsOffered(rec.orders) ? [] : [fillSummary(g, rec.orders)]));
  if (guidance.length > 0) out.push('**What to do**', ...guidance.map((g) => `- ${g}`), '');
  if (rec.fired.length > 0) {
    out.push('**Why**');
    const seen = new Set<string>();
    for (const f of rec.fired) out.push(...formatFired(f, seen));
    out.push('');
  }
  const notes = withRecordGaps(rec.notes.map(withoutResourceIds), ctx.recordGaps);
  if (notes.length > 0) out.push('**Notes**', ...notes.map((n) => `- ${n}`), '');
  return out.join('\n').trimEnd();
}

/** Short names of the labs a card suggests: "ESR", "CBC", "HbA1c" (the catalog's abbreviation), else the name. */
function labName(order: OrderSuggestion): string {
  const abbreviation = /\(([^()]+)\)\s*$/.exec(order.display);
  return abbreviation?.[1] ?? order.display.replace(/^Vitamin /, 'vitamin ');
}

/**
 * A summary names the labs the card offers, no more: rules write `{labs}` where the tests go, and a
 * lab already on record, already drafted or offered on a more urgent card drops out of it. Guidance
 * lines are filled the same way.
 */
function labsOffered(orders: readonly OrderSuggestion[]): string {
  return listInWords(orders.filter((o) => o.kind === 'lab').map(labName));
}

export function fillSummary(summary: string, orders: readonly OrderSuggestion[]): string {
  // `{labs|glucose}`: tests advised in words first, then the labs offered, as one list.
  summary = summary.replace(/\{labs\|([^}]+)\}/g, (_m, fixed: string) =>
    listInWords([...fixed.split(',').map((t) => t.trim()), ...orders.filter((o) => o.kind === 'lab').map(labName)]),
  );
  if (!summary.includes('{labs}')) return summary;
  const labs = labsOffered(orders);
  if (labs) return summary.replaceAll('{labs}', labs);
  return summary.replace(/(?:,| and)? \{labs\}/g, '').replaceAll('{labs}', '');
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

function sourceOf(id: string, ctx: RenderContext): SourceReference {
  return ctx.sources[id] ?? { id, label: id };
}

function linksFor(rec: Recommendation, ctx: RenderContext): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const id of rec.sources) {
    const ref = sourceOf(id, ctx);
    if (!ref.url || seen.has(ref.url)) continue;
    seen.add(ref.url);
    links.push({ label: ref.label, url: ref.url, type: 'absolute' });
    if (links.length === MAX_LINKS) break;
  }
  return links;
}

/**
 * What the clinician text leaves out, for machines: the decision-table row, the findings that fired
 * with the resources they rest on, the findings that could not be checked, and every source id
 * (seeds included) behind the card (docs/clinical-rules.md, Sources).
 */
function provenance(rec: Recommendation, ctx: RenderContext): Record<string, unknown> {
  const out: Record<string, unknown> = {
    rule: rec.row,
    sources: [...rec.sources],
  };
  const findings = rec.fired.map((f) => {
    const references = new Set<string>();
    for (const e of f.evidence) if (e.reference) references.add(e.reference);
    return references.size > 0 ? { id: f.id, references: [...references] } : { id: f.id };
  });
  if (findings.length > 0) out.findings = findings;
  const unchecked = rec.missing.flatMap((m) => (m.what && m.why ? [{ what: m.what, why: m.why }] : []));
  if (unchecked.length > 0) out.unchecked = unchecked;
  if (ctx.recordGaps && ctx.recordGaps.length > 0) out.notRead = ctx.recordGaps.map((g) => ({ ...g }));
  return out;
}

/** Turns one Recommendation into a CDS Hooks 2.0 Card; every card and suggestion gets a fresh uuid. */
export function renderCard(rec: Recommendation, ctx: RenderContext): Card {
  const guideline = rec.sources.map((id) => sourceOf(id, ctx)).find((s) => s.url !== undefined);
  const topic: Coding = { system: ctx.topicSystem, code: rec.topic };
  const topicDisplay = ctx.topicDisplay[rec.topic];
  if (topicDisplay) topic.display = topicDisplay;
  const card: Card = {
    uuid: randomUUID(),
    summary: clampSummary(fillSummary(rec.summary, rec.orders)),
    detail: renderDetail(rec, ctx),
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
  const links = linksFor(rec, ctx);
  if (links.length > 0) card.links = links;
  card.extension = { [PROVENANCE_EXTENSION]: provenance(rec, ctx) };
  return card;
}

export function renderCards(recs: readonly Recommendation[], ctx: RenderContext): Card[] {
  return recs.map((r) => renderCard(r, ctx));
}
