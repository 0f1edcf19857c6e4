/**
 * Run by test/rules/zone-less-dates.test.ts in a child process under a chosen TZ: prints, as JSON, the
 * UTC day the findings parser and the rules facts give a zone-less FHIR dateTime, and the episode length
 * the rules derive from it. Everything is compared against explicit UTC expectations in the test.
 */
import type { DiagnosticReport } from 'fhir/r4';
import { loadRuleKnowledge } from '../../hooks/rules/knowledge.js';
import { deriveFacts } from '../../hooks/rules/facts.js';
import { DEFAULT_RULE_SETTINGS } from '../../hooks/settings.js';
import { parseFhirDate } from '../../src/findings/dates.js';
import { episode, findingsResult, MAPPINGS_DIR, ruleInput } from '../rules/support.js';

const [when, now] = process.argv.slice(2) as [string, string];
const knowledge = await loadRuleKnowledge(MAPPINGS_DIR);
const report: DiagnosticReport = { resourceType: 'DiagnosticReport', id: 'mri-1', status: 'final', code: { text: 'MRI lumbar spine' }, effectiveDateTime: when };
const input = ruleInput('patient-view', findingsResult({ LBP: { ...episode(undefined), onset: when } }), {
  now: new Date(now),
  record: { diagnosticReports: [report] },
});
const facts = deriveFacts(input, DEFAULT_RULE_SETTINGS, knowledge);
const day = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString().slice(0, 10));
process.stdout.write(
  JSON.stringify({
    findingsDay: day(parseFhirDate(when)?.start),
    rulesImagingDay: day(facts.priorImaging[0]?.dateMs),
    rulesEpisodeWeeks: facts.episode.weeks,
    offsetMinutes: -new Date(now).getTimezoneOffset(),
  }),
);
