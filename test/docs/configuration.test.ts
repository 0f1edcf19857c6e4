import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULE_SETTINGS_DOC } from '../../hooks/settings.js';
import { BEGIN_MARKER, CONFIGURATION_DOC, END_MARKER, renderRuleSettingsTable, withRuleSettingsTable } from '../../scripts/docs-settings.js';
import { SERVICE_DEFAULTS, SERVICE_VARIABLES } from '../../src/config/config.js';

/** docs/configuration.md is derived from the settings in code, or names them all. */
const doc = readFileSync(CONFIGURATION_DOC, 'utf8');

describe('docs/configuration.md', () => {
  it('holds the decision-rule settings table exactly as hooks/settings.ts generates it (run npm run docs:settings)', () => {
    expect(doc).toContain(BEGIN_MARKER);
    expect(doc).toContain(END_MARKER);
    expect(withRuleSettingsTable(doc)).toBe(doc);
  });

  it('would be found out of date after a hand edit of the table', () => {
    const edited = doc.replace('| `RULE_CONSERVATIVE_WINDOW_WEEKS` | `6` |', '| `RULE_CONSERVATIVE_WINDOW_WEEKS` | `8` |');
    expect(edited).not.toBe(doc);
    expect(withRuleSettingsTable(edited)).not.toBe(edited);
  });

  it('gives every RULE_* variable one row, with its default', () => {
    const table = renderRuleSettingsTable();
    for (const setting of RULE_SETTINGS_DOC) {
      const rows = table.split('\n').filter((line) => line.startsWith(`| \`${setting.env}\` |`));
      expect(rows, setting.env).toHaveLength(1);
      expect(rows[0]).toContain(`| \`${setting.default}\` |`);
    }
  });

  it('gives each service variable in the table the default the service uses', () => {
    const lines = doc.split('\n');
    const header = lines.indexOf('| variable | default | meaning |');
    const end = lines.indexOf('', header);
    const rows = lines.slice(header + 2, end).filter((line) => /^\| `[A-Z_]+`( \/ `[A-Z_]+`)* \|/.test(line));
    const wrong: string[] = [];
    let compared = 0;
    for (const row of rows) {
      const [names, defaults] = row.split('|').slice(1, 3).map((cell) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]!));
      names!.forEach((name, i) => {
        if (!(name in SERVICE_DEFAULTS) || SERVICE_DEFAULTS[name] === undefined) return;
        compared++;
        if (defaults![i] !== String(SERVICE_DEFAULTS[name])) wrong.push(`${name}: docs say ${defaults![i] ?? '(nothing)'}, the service uses ${String(SERVICE_DEFAULTS[name])}`);
      });
    }
    expect(compared).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });

  it('names every variable the service reads', () => {
    expect(SERVICE_VARIABLES.length).toBeGreaterThan(20);
    const missing = SERVICE_VARIABLES.filter((name) => !doc.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
