import type { Coding, ServiceRequest } from 'fhir/r4';
import type { Action, Card, CdsResponse } from '../../src/cards/types.js';

/**
 * Plain-text rendering of a CDS Hooks response for a terminal: one block per card with its
 * indicator, topic, summary, the detail (findings with their evidence), suggestions with the codes
 * and priority of each order, links and override reasons. Pure: returns the text.
 */
export function formatCdsResponse(response: CdsResponse): string {
  const cards = Array.isArray(response?.cards) ? response.cards : [];
  const out: string[] = [];
  out.push(cards.length === 0 ? 'No cards.' : `${cards.length} card${cards.length === 1 ? '' : 's'}:`);
  cards.forEach((card, i) => out.push('', ...formatCard(card, i + 1)));
  if (response?.systemActions?.length) {
    out.push('', 'System actions:');
    for (const action of response.systemActions) out.push(`  - ${formatAction(action)}`);
  }
  return out.join('\n');
}

function formatCard(card: Card, n: number): string[] {
  const topic = card.source?.topic?.code;
  const lines = [`${n}. [${(card.indicator ?? '?').toUpperCase()}] ${card.summary}${topic ? `  (topic: ${topic})` : ''}`];
  lines.push(`   source: ${card.source?.label ?? '?'}${card.source?.url ? ` <${card.source.url}>` : ''}`);
  if (card.detail) {
    for (const line of plainMarkdown(card.detail).split('\n')) lines.push(line.trim() ? `   | ${line}` : '   |');
  }
  if (card.suggestions?.length) {
    lines.push(`   suggestions (${card.selectionBehavior ?? 'no selectionBehavior'}):`);
    for (const s of card.suggestions) {
      lines.push(`   * ${s.label}${s.isRecommended ? '  [recommended]' : ''}`);
      for (const action of s.actions ?? []) lines.push(`       - ${formatAction(action)}`);
    }
  }
  for (const link of card.links ?? []) lines.push(`   link: ${link.label} <${link.url}> (${link.type})`);
  if (card.overrideReasons?.length) {
    lines.push(`   override reasons: ${card.overrideReasons.map((r) => r.display ?? r.code).join('; ')}`);
  }
  return lines;
}

function formatAction(action: Action): string {
  const resource = action.resource as ServiceRequest | undefined;
  if (action.type === 'delete') return `delete ${action.resourceId ?? '?'}: ${action.description}`;
  if (resource?.resourceType === 'ServiceRequest') {
    const codes = (resource.code?.coding ?? []).map(codeLabel).join(', ');
    const what = resource.code?.text ?? resource.code?.coding?.[0]?.display ?? 'ServiceRequest';
    return `${action.type} ServiceRequest [${resource.priority ?? 'no priority'}] ${what}${codes ? ` (${codes})` : ''}`;
  }
  return `${action.type} ${resource?.resourceType ?? action.resourceId ?? ''}: ${action.description}`.trim();
}

const SYSTEM_LABELS: Record<string, string> = {
  'http://www.ama-assn.org/go/cpt': 'CPT',
  'http://loinc.org': 'LOINC',
  'http://snomed.info/sct': 'SNOMED',
};

function codeLabel(coding: Coding): string {
  return `${SYSTEM_LABELS[coding.system ?? ''] ?? coding.system ?? '?'} ${coding.code ?? '?'}`;
}

/** Markdown to terminal text: drop emphasis markers and backslash escapes. */
function plainMarkdown(text: string): string {
  return text.replace(/\*\*(.+?)\*\*/g, '$1').replace(/\\([\\`*_{}[\]<>#|])/g, '$1');
}
