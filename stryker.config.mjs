/* global process, console, URL */
// Mutation testing of the clinical core (issue 20): `npm run mutation`. See docs/mutation.md.
import { readdirSync } from 'node:fs';

/**
 * Card and note wording is not a clinical decision: another engineer rewrites it while these tests
 * must keep passing, and the tests deliberately do not read it. So the text a clinician reads (card
 * summaries, guidance, notes, missing-data lines, suggestion labels, data-quality messages) and log
 * lines are left unmutated here, by where they sit in the code, instead of by comments in the rules.
 * What stays mutated: every condition, threshold, code, topic, indicator, priority, order key and
 * `isRecommended`, and the control flow around the text.
 */
const WORDING_KEYS = new Set([
  'summary', 'guidance', 'note', 'notes', 'what', 'why', 'label', 'description', 'line', 'message', 'display',
  'reasonText', 'detail',
]);
/** Arrays that collect words for one line of a card (`parts.push(...)`, `notes.push(...)`). */
const WORDING_LISTS = new Set(['notes', 'parts', 'guidance']);
/** Functions whose whole output is wording (the markdown of a card's detail, a data-quality note). */
const WORDING_FUNCTIONS = new Set([
  // src/cards/render.ts: the card's detail markdown, its links and the summary's length clamp
  'renderDetail', 'formatFired', 'formatEvidence', 'escapeMarkdown', 'foldWhitespace', 'clampSummary', 'linksFor',
  // hooks/rules: text helpers
  'studyText', 'durationNote', 'analgesicAdvice', 'conservativeGuidance', 'regionText', 'orderDisplay', 'idOf',
  // src/findings/evaluate.ts: data-quality notes and evidence names
  'note', 'warnDotless', 'nameOf', 'conceptText',
]);
/**
 * Outside the clinical core, by the scope (findings: status, dates, windows, measurements,
 * derived; rules: the predicates, facts and order coverage): FHIRPath and value-set plumbing, the
 * memo caches, the name-matching safety net and exam-Observation reading of the findings engine
 * (their own suites in test/findings), and the hygiene that makes malformed findings input safe
 * (fuzzed in test/protocol). They keep their tests; they are not mutated here.
 */
const OUT_OF_SCOPE_FUNCTIONS = new Set([
  // src/findings/evaluate.ts
  'run', 'runFirst', 'valueSet', 'codeMemo', 'mayHold', 'anyNameOf', 'candidateSets', 'displayHoldsAName',
  'eachNamed', 'nameHit', 'requirementNamed', 'meetsRequirement', 'namedResources', 'byNameSuffix',
  'valueIndex', 'eachValueCandidate', 'answerOf', 'valueText', 'gradeOf', 'evaluateExam',
  // hooks/rules/facts.ts
  'cleanOneEvidence', 'cleanEvidence', 'normaliseFinding',
]);
const TEXT_NODES = new Set(['StringLiteral', 'TemplateLiteral', 'ArrayExpression', 'ConditionalExpression', 'LogicalExpression', 'CallExpression', 'BinaryExpression']);
const LOGGERS = /^(log|logger|console)$/;

function keyName(node) {
  if (!node) return undefined;
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'StringLiteral') return node.value;
  return undefined;
}

function calleeParts(node) {
  const callee = node.callee;
  if (callee?.type === 'Identifier') return { fn: callee.name };
  if (callee?.type === 'MemberExpression') {
    const obj = callee.object;
    const objName = obj.type === 'Identifier' ? obj.name : obj.type === 'MemberExpression' ? keyName(obj.property) : obj.type === 'ThisExpression' ? 'this' : undefined;
    return { obj: objName, fn: keyName(callee.property) };
  }
  return {};
}

/** Whether the path lies inside wording: some ancestor (or itself) is. */
function insideWording(path, depth) {
  for (let p = path; p; p = p.parentPath) if (wordingReason(p, depth + 1)) return true;
  return false;
}

/**
 * Why a node is wording, or undefined: by its own place in the code, or, for a variable, because it
 * is read only by wording (`const lower = ...` used in a note alone).
 */
function wordingReason(path, depth = 0) {
  const node = path.node;
  if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier' && depth < 4) {
    const refs = path.scope?.getBinding(node.id.name)?.referencePaths ?? [];
    if (refs.length > 0 && refs.every((ref) => insideWording(ref, depth))) return `${node.id.name} is read only by code left unmutated (wording or out of scope)`;
    return undefined;
  }
  // Log lines, anywhere.
  if (node.type === 'CallExpression') {
    const { obj, fn } = calleeParts(node);
    if (obj && LOGGERS.test(obj)) return 'log text';
    if (fn && WORDING_FUNCTIONS.has(fn) && !obj) return undefined; // the call itself may be mutated; its body is judged below
  }
  if (node.type === 'Identifier') {
    // A variable handed to a wording field (`notes,`) or collecting wording (`notes.push(...)`).
    const parent = path.parentPath?.node;
    if (parent?.type === 'ObjectProperty' && parent.value === node && WORDING_KEYS.has(keyName(parent.key))) return `wording: ${node.name}`;
    if (parent?.type === 'MemberExpression' && parent.object === node && keyName(parent.property) === 'push' && WORDING_LISTS.has(node.name)) return `wording: ${node.name}`;
    return undefined;
  }
  if (node.type === 'FunctionDeclaration' && WORDING_FUNCTIONS.has(node.id?.name)) return `wording: ${node.id.name}`;
  if (node.type === 'FunctionDeclaration' && OUT_OF_SCOPE_FUNCTIONS.has(node.id?.name)) return `outside the clinical core: ${node.id.name}`;
  if (!TEXT_NODES.has(node.type)) return undefined;
  const parent = path.parentPath;
  if (!parent) return undefined;
  // { summary: `...` }, { guidance: [...] }, { note: ... }
  if (parent.node.type === 'ObjectProperty' && parent.node.value === node && WORDING_KEYS.has(keyName(parent.node.key))) {
    return `wording: ${keyName(parent.node.key)}`;
  }
  // notes.push(`...`), parts.push(`...`)
  if ((node.type === 'StringLiteral' || node.type === 'TemplateLiteral') && parent.node.type === 'CallExpression' && parent.node.arguments.includes(node)) {
    const { obj, fn } = calleeParts(parent.node);
    if (fn === 'push' && obj && WORDING_LISTS.has(obj)) return `wording: ${obj}`;
  }
  return undefined;
}

/** Stryker ignorer plugin: StrykerJS loads this file itself through `appendPlugins`. */
export const strykerPlugins = [
  { kind: 'Ignore', name: 'clinical-wording', value: { shouldIgnore: (path) => wordingReason(path) } },
  {
    kind: 'Reporter',
    name: 'score-line',
    // The contract: the run's last line is `mutation score: NN.N%` (printed after Stryker's "Done in").
    factory: () => ({
      onMutationTestReportReady(_report, metrics) {
        scoreLine.value = metrics.systemUnderTestMetrics.metrics.mutationScore;
      },
    }),
  },
];
const scoreLine = { value: NaN };
process.once('exit', () => {
  if (Number.isFinite(scoreLine.value)) console.log(`mutation score: ${scoreLine.value.toFixed(1)}%`);
});

/**
 * The tests that judge clinical behaviour. Left out: tests that spawn a child process (coverage
 * cannot be traced into it, and each start costs seconds per mutant), and the fast-path equivalence,
 * robustness, mapping-loader, SMART and FHIR-query suites, which test a parser, hostile input, the
 * loader and transport, not decisions.
 */
const NOT_CLINICAL = new Set([
  'test/rules/zone-less-dates.test.ts',
  'test/findings/fhirpath-fast-path.test.ts',
  'test/findings/robustness.test.ts',
  'test/findings/loader.test.ts',
  'test/clinical/smart-patients.test.ts',
  'test/clinical/queries.test.ts',
  // The fixtures over HTTP and a FHIR-server child process; test/rules/clinical-fixtures.test.ts runs
  // the same cases in process.
  'test/clinical/clinical.test.ts',
  'test/clinical/mimickers.test.ts',
]);
const CLINICAL_TESTS = ['test/rules', 'test/clinical', 'test/findings'].flatMap((dir) =>
  readdirSync(new URL(`./${dir}`, import.meta.url))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `${dir}/${f}`)
    .filter((f) => !NOT_CLINICAL.has(f)));

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts', related: true },
  plugins: ['@stryker-mutator/vitest-runner'],
  appendPlugins: [new URL(import.meta.url).pathname],
  ignorers: ['clinical-wording'],
  coverageAnalysis: 'perTest',
  ignoreStatic: false,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 2,
  timeoutMS: 20_000,
  dryRunTimeoutMinutes: 20,
  mutate: [
    'hooks/rules/table.ts',
    'hooks/rules/mimickers.ts',
    'hooks/rules/facts.ts',
    'hooks/rules/orders.ts',
    'hooks/rules/evaluate.ts',
    'src/findings/evaluate.ts',
    'src/cards/render.ts',
    'src/cards/recommendation.ts',
  ],
  testFiles: CLINICAL_TESTS,
  reporters: ['progress', 'clear-text', 'html', 'json', 'score-line'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 85, low: 70, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
