import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_RULE_SETTINGS, RULE_SETTINGS_DOC, RuleSettingsSchema, type RuleSettings } from '../hooks/settings.js';
import { ENV_BOOLEAN_SPELLINGS } from '../src/config/env-boolean.js';

/**
 * Writes the decision-rule settings table of docs/configuration.md from hooks/settings.ts (variable,
 * meaning and source from RULE_SETTINGS_DOC, default from DEFAULT_RULE_SETTINGS, accepted values from
 * the schema), between the marker comments below, so the table cannot drift from the code.
 *
 *   npm run docs:settings            rewrite the table
 *   npm run docs:settings -- --check exit 1 when the table is out of date (test/docs checks the same)
 */
export const CONFIGURATION_DOC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'configuration.md');
export const BEGIN_MARKER = '<!-- BEGIN GENERATED: rule settings, from hooks/settings.ts by `npm run docs:settings`; do not edit by hand -->';
export const END_MARKER = '<!-- END GENERATED: rule settings -->';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The values a variable accepts, read from its schema. */
function acceptedValues(key: keyof RuleSettings): string {
  const schema = RuleSettingsSchema.shape[key] as z.ZodType;
  if (schema instanceof z.ZodBoolean) return ENV_BOOLEAN_SPELLINGS.map((s) => `\`${s}\``).join(', ');
  if (schema instanceof z.ZodEnum) return (schema.options as string[]).map((s) => `\`${s}\``).join(', ');
  if (schema instanceof z.ZodNumber) {
    const kind = schema.isInt ? 'whole number' : 'number';
    return `${kind} ${schema.minValue ?? '…'}–${schema.maxValue ?? '…'}`;
  }
  throw new Error(`docs:settings: no rendering for the schema of ${key}`);
}

export function renderRuleSettingsTable(): string {
  const rows = RULE_SETTINGS_DOC.map(
    (d) => `| \`${d.env}\` | \`${String(DEFAULT_RULE_SETTINGS[d.key])}\` | ${acceptedValues(d.key)} | ${cell(d.meaning)} | ${cell(d.source)} |`,
  );
  return ['| variable | default | values | meaning | source |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** The document with the generated table in place; throws when the markers are missing. */
export function withRuleSettingsTable(doc: string): string {
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error(`docs/configuration.md: the markers ${BEGIN_MARKER} ... ${END_MARKER} are missing`);
  return `${doc.slice(0, begin + BEGIN_MARKER.length)}\n${renderRuleSettingsTable()}\n${doc.slice(end)}`;
}

function main(): void {
  const check = process.argv.includes('--check');
  const current = readFileSync(CONFIGURATION_DOC, 'utf8');
  const next = withRuleSettingsTable(current);
  if (next === current) {
    console.log('docs/configuration.md: the rule settings table is up to date');
    return;
  }
  if (check) {
    console.error('docs/configuration.md: the rule settings table is out of date with hooks/settings.ts; run npm run docs:settings');
    process.exitCode = 1;
    return;
  }
  writeFileSync(CONFIGURATION_DOC, next);
  console.log('docs/configuration.md: rule settings table rewritten from hooks/settings.ts');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
