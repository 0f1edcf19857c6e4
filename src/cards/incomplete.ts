import { randomUUID } from 'node:crypto';
import type { FindingsResult } from '../findings/types.js';
import type { DataGap } from '../data/record.js';
import { clampSummary, escapeMarkdown, SERVICE_NAME } from './render.js';
import { recordPart } from './text.js';
import type { Card } from './types.js';

const MAX_LINES = 12;

/**
 * The card for an answer the service could not give whole: findings whose evaluation failed, or
 * data a work bound left out while no other card says so. Without it such a call would answer
 * `{"cards": []}`, which reads as "no red flag" (issue 14). Clinician's words: what was not
 * assessed, and that it needs a look by hand.
 */
export function incompleteEvaluationCard(failed: NonNullable<FindingsResult['failed']>, gaps: readonly DataGap[] = []): Card {
  const lines: string[] = [];
  if (failed.length > 0) {
    lines.push('**Could not be evaluated**');
    for (const f of failed.slice(0, MAX_LINES)) lines.push(`- ${escapeMarkdown(f.label)}`);
    if (failed.length > MAX_LINES) lines.push(`- and ${failed.length - MAX_LINES} more`);
    lines.push('');
  }
  if (gaps.length > 0) {
    lines.push('**Only part of the record was read**');
    for (const g of gaps.slice(0, MAX_LINES)) lines.push(`- ${escapeMarkdown(recordPart(g.key))}: ${escapeMarkdown(g.reason)}`);
    if (gaps.length > MAX_LINES) lines.push(`- and ${gaps.length - MAX_LINES} more`);
    lines.push('');
  }
  lines.push('Review back-pain red flags in the chart by hand: cauda equina signs, motor deficit, myelopathy, cancer and infection.');
  const what = failed.length > 0 ? failed.map((f) => f.label).join(', ') : 'part of the record';
  return {
    uuid: randomUUID(),
    summary: clampSummary(failed.length > 0 ? `Spine CDS could not evaluate: ${what}; review by hand` : 'Spine CDS read only part of this record; review red flags by hand'),
    detail: lines.join('\n'),
    indicator: 'warning',
    source: { label: SERVICE_NAME },
  };
}
