import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CARD_TOPICS } from '../hooks/rules/card-topics.js';
import { TOPICS } from '../hooks/rules/topics.js';

/**
 * Writes the decision row and default indicator of every concept of the published card-topic
 * CodeSystem (mappings/codesystems/card-topic.json) from the topic files (hooks/topics/<code>.yaml),
 * so an informaticist changes a card's indicator in one place. Display and definition stay
 * hand-written in the CodeSystem: they are its public wording, not the card's.
 *
 *   npm run knowledge:topics            rewrite the two properties
 *   npm run knowledge:topics -- --check exit 1 when they are out of date (the load refuses it too)
 */
export const CARD_TOPIC_CODESYSTEM = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'mappings', 'codesystems', 'card-topic.json');

interface Concept {
  code: string;
  property?: { code: string; valueString?: string; valueCode?: string }[];
  [key: string]: unknown;
}

/** The CodeSystem text with each topic's row and indicator taken from its file; unknown concepts are kept as they are. */
export function withTopicProperties(text: string): string {
  const cs = JSON.parse(text) as { concept: Concept[] };
  const known = new Set<string>(CARD_TOPICS);
  for (const concept of cs.concept) {
    if (!known.has(concept.code)) continue;
    const topic = TOPICS[concept.code as keyof typeof TOPICS];
    const others = (concept.property ?? []).filter((p) => p.code !== 'decision-row' && p.code !== 'indicator');
    concept.property = [{ code: 'decision-row', valueString: topic.row }, { code: 'indicator', valueCode: topic.indicator }, ...others];
  }
  const missing = CARD_TOPICS.filter((code) => !cs.concept.some((c) => c.code === code));
  if (missing.length > 0) throw new Error(`card-topic.json has no concept for ${missing.join(', ')}: add each with its display and definition`);
  return `${JSON.stringify(cs, null, 2)}\n`;
}

function main(): void {
  const current = readFileSync(CARD_TOPIC_CODESYSTEM, 'utf8');
  const next = withTopicProperties(current);
  if (next === current) {
    console.log('card-topic.json: rows and indicators agree with hooks/topics');
    return;
  }
  if (process.argv.includes('--check')) {
    console.error('card-topic.json: rows or indicators differ from hooks/topics; run npm run knowledge:topics');
    process.exitCode = 1;
    return;
  }
  writeFileSync(CARD_TOPIC_CODESYSTEM, next);
  console.log('card-topic.json: rows and indicators rewritten from hooks/topics');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
