import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Indicator } from '../../src/cards/recommendation.js';
import { CARD_TOPICS, DECISION_ROWS, type CardTopic, type DecisionRowId } from './card-topics.js';
import type { SpinalRegion } from '../../src/findings/types.js';
import type { SourceReference } from '../../src/cards/sources.js';
import { KnowledgeFileError } from '../../src/knowledge/knowledge-file-error.js';
import { readKnowledgeFileSync } from './knowledge-file.js';
import type { OrderNeed } from './types.js';

/**
 * One data file per card topic (hooks/topics/<topic code>.yaml): its decision row, default indicator,
 * sources, override reasons and the wording of its card as templates. The predicates in table.ts and
 * mimickers.ts decide whether a card fires and which variant it shows; the words are here, so an
 * informaticist changes a card's wording, sources or indicator without touching TypeScript.
 *
 * Templates name what the predicate fills in braces (`{regions}`, `{window}`). `{labs}` and
 * `{labs|glucose}` are left for the renderer, which names the labs the card actually offers
 * (src/cards/render.ts). A placeholder the topic does not provide, a missing variant or an extra one
 * stops the load with a KnowledgeFileError naming the file and the place in it.
 */

/** What the code of one topic provides and asks for: the file must match it exactly. */
export interface TopicContract {
  /** Placeholders the predicate fills; `labs` is always allowed (the renderer fills it). */
  placeholders: readonly string[];
  summary: readonly string[];
  guidance: readonly string[];
  notes?: readonly string[];
  /** Short words the predicate picks between and puts into a placeholder ("found" / "on record"). */
  phrases?: readonly string[];
  /** Named order lists the predicate proposes (`{region}` in a key: one order per region it names). */
  orders?: readonly string[];
}

const DEFAULT: readonly string[] = ['default'];

/**
 * The variants each predicate picks from and the values it fills. Changing this is a code change
 * (a new branch in a predicate); changing the words of an existing variant is not.
 */
export const TOPIC_CONTRACTS: Readonly<Record<CardTopic, TopicContract>> = {
  'cauda-equina': { placeholders: [], summary: DEFAULT, guidance: DEFAULT, orders: DEFAULT },
  myelopathy: { placeholders: [], summary: DEFAULT, guidance: DEFAULT, orders: DEFAULT },
  'motor-deficit': { placeholders: ['regions'], summary: ['one-limb', 'arm-and-leg'], guidance: DEFAULT, notes: ['level-unclear'], orders: DEFAULT },
  'malignancy-suspected': {
    placeholders: ['regions', 'findings', 'count'],
    summary: ['default', 'myeloma-named', 'myeloma-counted'],
    guidance: ['default', 'myeloma-addition', 'myeloma-only'],
    notes: ['myeloma-labs-in-words'],
    orders: ['default', 'myeloma-only'],
  },
  'infection-suspected': {
    placeholders: ['regions'],
    summary: ['default', 'epidural-abscess'],
    guidance: ['default', 'epidural-abscess'],
    orders: ['default', 'epidural-abscess'],
  },
  'elevated-risk': {
    placeholders: ['reassess', 'factors', 'count'],
    summary: ['named', 'counted', 'fracture-risk-only', 'prior-lumbar-surgery'],
    guidance: ['default', 'labs', 'conservative-trial', 'recent-spinal-procedure', 'prior-lumbar-surgery'],
    notes: ['fever-held-back'],
    orders: ['labs', 'prior-lumbar-surgery'],
  },
  'bilateral-radiculopathy': { placeholders: [], summary: DEFAULT, guidance: DEFAULT, orders: DEFAULT },
  'conservative-care': {
    placeholders: ['red-flags', 'checked', 'analgesic', 'reassess', 'reassess-until', 'window', 'count'],
    summary: ['default', 'arm-only', 'no-trial'],
    guidance: ['nsaid-first', 'nsaid-or-acetaminophen', 'no-early-imaging'],
    notes: ['duration-assumed', 'cervical-draft', 'arm-only'],
    phrases: ['checked', 'not-all-checked', 'analgesic-nsaid-first', 'analgesic-any'],
    orders: ['physiotherapy'],
  },
  'persistent-radiculopathy': {
    placeholders: ['window', 'red-flags', 'regions', 'dates', 'studies', 'severe-score'],
    summary: ['mri-advised', 'mri-done'],
    guidance: ['mri-advised', 'mri-done'],
    notes: ['severe-pain'],
    phrases: ['not-all-checked'],
    orders: DEFAULT,
  },
  'low-value-imaging': {
    placeholders: ['red-flags', 'checked', 'window', 'imaging', 'draft'],
    summary: DEFAULT,
    guidance: DEFAULT,
    notes: ['age-over-50', 'draft-without-id'],
    phrases: ['checked', 'not-all-checked', 'several-drafts'],
  },
  'insufficient-data': {
    placeholders: ['window'],
    summary: ['no-indication', 'onset-unknown'],
    guidance: ['no-indication', 'onset-unknown'],
    notes: ['no-indication', 'guessed-duration'],
  },
  'vascular-emergency': { placeholders: [], summary: DEFAULT, guidance: DEFAULT, notes: DEFAULT },
  'possible-aaa': { placeholders: [], summary: DEFAULT, guidance: DEFAULT, notes: DEFAULT },
  'dvt-suspected': {
    placeholders: ['risk', 'score', 'items'],
    summary: ['default', 'd-dimer-raised'],
    guidance: ['likely', 'unlikely'],
    notes: ['wells-found', 'wells-not-found', 'd-dimer-raised', 'd-dimer-missing'],
    phrases: ['no-items'],
  },
  'vascular-claudication': { placeholders: [], summary: DEFAULT, guidance: DEFAULT, notes: DEFAULT },
  'spinal-stenosis': { placeholders: ['window', 'weeks'], summary: DEFAULT, guidance: DEFAULT, notes: ['long-standing'] },
  'neuropathy-workup': { placeholders: [], summary: DEFAULT, guidance: DEFAULT, notes: ['no-hba1c', 'no-vitamin-b12', 'bilateral'], orders: ['hba1c', 'vitamin-b12'] },
  'hip-pathology': { placeholders: [], summary: DEFAULT, guidance: DEFAULT },
  'child-back-pain': { placeholders: ['age', 'adult-age'], summary: ['default', 'radicular'], guidance: ['default', 'radicular'], phrases: ['age-unknown'] },
};

const TopicFileSchema = z.strictObject({
  code: z.enum(CARD_TOPICS),
  row: z.enum(DECISION_ROWS),
  indicator: z.enum(['info', 'warning', 'critical']),
  sources: z.array(z.string().regex(/^[A-Z0-9-]+$/)).min(1),
  overrideReasons: z.array(z.string().regex(/^[a-z0-9-]+$/)).default([]),
  summary: z.record(z.string(), z.string().min(1).max(300)).default({}),
  guidance: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
  notes: z.record(z.string(), z.string().min(1)).default({}),
  phrases: z.record(z.string(), z.string().min(1).max(80)).default({}),
  orders: z
    .record(
      z.string(),
      z.array(
        z.strictObject({
          // An order catalog key (mappings/orders/catalog.yaml); test/rules/topics-files.test.ts checks it exists.
          key: z.string().regex(/^[a-z0-9-]*(\{region\})?[a-z0-9-]*$/, 'an order catalog key, optionally with {region}'),
          priority: z.enum(['stat', 'urgent', 'routine']),
          /** false: offered but not pre-selected (a suggestion the clinician opts into). */
          recommended: z.boolean().default(true),
        }),
      ),
    )
    .default({}),
});

export type TopicFile = z.infer<typeof TopicFileSchema>;

export type TemplateValues = Readonly<Record<string, string | number>>;

/** A topic as the predicates use it: its fixed fields, and its templates filled with their values. */
export interface TopicKnowledge {
  code: CardTopic;
  row: DecisionRowId;
  indicator: Indicator;
  sources: readonly string[];
  overrideReasons: readonly string[];
  summary(variant: string, values?: TemplateValues): string;
  guidance(variant: string, values?: TemplateValues): string[];
  note(variant: string, values?: TemplateValues): string;
  phrase(variant: string, values?: TemplateValues): string;
  /** The orders of one variant; a `{region}` key becomes one order per region, in the order given. */
  orders(variant: string, regions?: readonly SpinalRegion[]): OrderNeed[];
}

/** `{name}`; `{labs}` and `{labs|...}` belong to the renderer and pass through untouched. */
const PLACEHOLDER = /\{([^{}|]*)(\|[^{}]*)?\}/g;
const RENDERER_PLACEHOLDERS = new Set(['labs']);


function checkVariants(file: string, section: 'summary' | 'guidance' | 'notes' | 'phrases' | 'orders', have: Record<string, unknown>, want: readonly string[]): void {
  for (const v of want) if (!(v in have)) throw new KnowledgeFileError(file, `${section}.${v}`, `missing: the rule uses this ${section} variant`);
  for (const v of Object.keys(have)) {
    if (!want.includes(v)) throw new KnowledgeFileError(file, `${section}.${v}`, `unknown variant; this topic has ${want.length ? want.join(', ') : 'none'}`);
  }
}

function checkPlaceholders(file: string, where: string, text: string, allowed: readonly string[]): void {
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    if (RENDERER_PLACEHOLDERS.has(name)) continue;
    if (m[2] !== undefined || !allowed.includes(name)) {
      const known = ['labs', ...allowed].map((p) => `{${p}}`).join(', ');
      throw new KnowledgeFileError(file, where, `unknown placeholder "${m[0]}"; this topic fills ${known}`);
    }
  }
}

/** A template as its literal text and the placeholders a predicate fills; renderer placeholders stay literal. */
type TemplatePart = string | { fill: string };

/**
 * Fills one file's templates. Each template is split into its parts the first time it is used, not
 * matched against a regular expression on every card: the templates are the file's, few and fixed.
 */
function templateFiller(file: string): (where: () => string, template: string, values: TemplateValues) => string {
  const compiled = new Map<string, readonly TemplatePart[]>();
  const partsOf = (template: string): readonly TemplatePart[] => {
    let parts = compiled.get(template);
    if (!parts) {
      const out: TemplatePart[] = [];
      let last = 0;
      for (const m of template.matchAll(PLACEHOLDER)) {
        const name = m[1] ?? '';
        if (m[2] !== undefined || RENDERER_PLACEHOLDERS.has(name)) continue;
        out.push(template.slice(last, m.index), { fill: name });
        last = m.index + m[0].length;
      }
      out.push(template.slice(last));
      parts = out;
      compiled.set(template, parts);
    }
    return parts;
  };
  return (where, template, values) => {
    const parts = partsOf(template);
    if (parts.length === 1) return template;
    let text = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        text += part;
        continue;
      }
      const value = values[part.fill];
      // The contract check at load makes this a programming error in a predicate, never a file error.
      if (value === undefined) throw new Error(`${file}: ${where()}: the rule did not fill {${part.fill}}`);
      text += String(value);
    }
    return text;
  };
}

/** A variant the contract does not list is a bug in a predicate, never silently no words. */
function pick<T>(file: string, section: string, variants: Record<string, T>, v: string): T {
  const found = variants[v];
  if (found === undefined) throw new Error(`${file}: ${section}.${v}: the rule asked for a variant its contract does not list`);
  return found;
}

function compileTopic(file: string, data: TopicFile, contract: TopicContract): TopicKnowledge {
  checkVariants(file, 'summary', data.summary, contract.summary);
  checkVariants(file, 'guidance', data.guidance, contract.guidance);
  checkVariants(file, 'notes', data.notes, contract.notes ?? []);
  for (const [v, text] of Object.entries(data.summary)) checkPlaceholders(file, `summary.${v}`, text, contract.placeholders);
  for (const [v, lines] of Object.entries(data.guidance)) lines.forEach((text, i) => checkPlaceholders(file, `guidance.${v}[${i}]`, text, contract.placeholders));
  checkVariants(file, 'phrases', data.phrases, contract.phrases ?? []);
  checkVariants(file, 'orders', data.orders, contract.orders ?? []);
  for (const [v, text] of Object.entries(data.notes)) checkPlaceholders(file, `notes.${v}`, text, contract.placeholders);
  for (const [v, text] of Object.entries(data.phrases)) checkPlaceholders(file, `phrases.${v}`, text, contract.placeholders);
  const fill = templateFiller(file);
  return {
    code: data.code,
    row: data.row,
    indicator: data.indicator,
    sources: data.sources,
    overrideReasons: data.overrideReasons,
    summary: (v, values = {}) => fill(() => `summary.${v}`, pick(file, 'summary', data.summary, v), values),
    guidance: (v, values = {}) => pick(file, 'guidance', data.guidance, v).map((line, i) => fill(() => `guidance.${v}[${i}]`, line, values)),
    note: (v, values = {}) => fill(() => `notes.${v}`, pick(file, 'notes', data.notes, v), values),
    phrase: (v, values = {}) => fill(() => `phrases.${v}`, pick(file, 'phrases', data.phrases, v), values),
    orders: (v, regions = []) =>
      pick(file, 'orders', data.orders, v).flatMap((o) =>
        o.key.includes('{region}')
          ? regions.map((region) => ({ key: o.key.replace('{region}', region), priority: o.priority, recommended: o.recommended }))
          : [{ key: o.key, priority: o.priority, recommended: o.recommended }],
      ),
  };
}

/** hooks/topics at the repository root: two folders above this file, three once built into dist/. */
export function defaultTopicsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${path.sep}dist${path.sep}`) ? ['..', '..', '..'] : ['..'];
  return path.resolve(here, ...up, up.length === 1 ? 'topics' : path.join('hooks', 'topics'));
}

function readTopicFile(dir: string, topic: CardTopic): TopicKnowledge {
  const { name: file, data } = readKnowledgeFileSync(dir, `${topic}.yaml`, TopicFileSchema);
  // The file name is the topic code, so a card's source.topic.code finds its file in one step.
  if (data.code !== topic) throw new KnowledgeFileError(file, 'code', `"${data.code}" does not match the file name "${topic}"`);
  return compileTopic(file, data, TOPIC_CONTRACTS[topic]);
}

/** Reads and checks every topic file of `dir`; one file per card topic, no more, no fewer. */
export function loadTopics(dir: string): Readonly<Record<CardTopic, TopicKnowledge>> {
  const out = {} as Record<CardTopic, TopicKnowledge>;
  for (const topic of CARD_TOPICS) out[topic] = readTopicFile(dir, topic);
  for (const name of readdirSync(dir)) {
    const code = name.replace(/\.ya?ml$/, '');
    if (code !== name && !(CARD_TOPICS as readonly string[]).includes(code)) {
      throw new KnowledgeFileError(`${path.basename(path.resolve(dir))}/${name}`, '(file)', 'not a card topic of docs/clinical-rules.md (Card topics): the file name must be the topic code');
    }
  }
  return out;
}

const SourcesFileSchema = z.record(
  z.string().regex(/^[A-Z0-9-]+$/, 'a source id: capitals, digits and hyphens'),
  z.strictObject({
    label: z.string().min(1).max(160),
    // Primary sources only, over https (docs/clinical-rules.md, Sources).
    url: z.url({ protocol: /^https$/ }).optional(),
    seed: z.literal(true).optional(),
  }),
);

/** hooks/sources.yaml: every source a topic may cite, with its label and primary link. */
export function loadSources(file: string): Readonly<Record<string, SourceReference>> {
  const { data } = readKnowledgeFileSync(path.dirname(file), path.basename(file), SourcesFileSchema);
  const out: Record<string, SourceReference> = {};
  for (const [id, source] of Object.entries(data)) out[id] = { id, ...source } as SourceReference;
  return out;
}

/** Every source a topic file cites must be in the sources file: a card never links an unknown id. */
export function checkTopicSources(topics: Readonly<Record<CardTopic, TopicKnowledge>>, sources: Readonly<Record<string, SourceReference>>, dir: string): void {
  for (const topic of CARD_TOPICS) {
    topics[topic].sources.forEach((id, i) => {
      if (!sources[id]) throw new KnowledgeFileError(`${path.basename(path.resolve(dir))}/${topic}.yaml`, `sources[${i}]`, `"${id}" is not in hooks/sources.yaml`);
    });
  }
}

/** The shared phrases the rules use, with the placeholders each one fills (hooks/phrases.yaml). */
export const SHARED_PHRASE_CONTRACT: Readonly<Record<string, readonly string[]>> = {
  'duration-known': ['onset', 'weeks'],
  'duration-unknown': ['what'],
  'duration-unknown-what': [],
  'trial-unknown': [],
  'trial-missing': [],
  'unchecked-red-flags': ['checks'],
  'neurological-examination': [],
  'exam-check-saddle': [],
  'exam-check-leg-power': [],
  'exam-check-reflexes': [],
  'no-red-flags': [],
  'no-spinal-red-flag': [],
  'another-cause': ['cards'],
  card: ['names'],
  cards: ['names'],
};

const PhrasesFileSchema = z.strictObject({
  phrases: z.record(z.string(), z.string().min(1).max(400)),
  modalities: z.record(z.string().regex(/^[A-Z]{2}$/, 'a DICOM modality code'), z.string().min(1).max(40)),
});

export interface SharedPhrases {
  phrase(name: string, values?: TemplateValues): string;
  /** A DICOM modality code as a clinician says it; the code itself when the file has no word for it. */
  modality(code: string): string;
}

/** hooks/phrases.yaml: the words no one topic owns, checked against SHARED_PHRASE_CONTRACT like a topic file. */
export function loadSharedPhrases(file: string): SharedPhrases {
  const { name, data } = readKnowledgeFileSync(path.dirname(file), path.basename(file), PhrasesFileSchema);
  const { phrases, modalities } = data;
  checkVariants(name, 'phrases', phrases, Object.keys(SHARED_PHRASE_CONTRACT));
  for (const [key, text] of Object.entries(phrases)) checkPlaceholders(name, `phrases.${key}`, text, SHARED_PHRASE_CONTRACT[key] ?? []);
  const fill = templateFiller(name);
  return {
    phrase: (key, values = {}) => fill(() => `phrases.${key}`, pick(name, 'phrases', phrases, key), values),
    modality: (code) => modalities[code] ?? code,
  };
}

/**
 * The shipped topic files, read when the rule table is first imported (like hooks/prefetch.ts reads
 * the mappings): a broken file stops startup with its name and the place in it.
 */
export const TOPICS: Readonly<Record<CardTopic, TopicKnowledge>> = loadTopics(defaultTopicsDir());
export const SOURCES: Readonly<Record<string, SourceReference>> = loadSources(path.join(defaultTopicsDir(), '..', 'sources.yaml'));
checkTopicSources(TOPICS, SOURCES, defaultTopicsDir());
export const PHRASES: SharedPhrases = loadSharedPhrases(path.join(defaultTopicsDir(), '..', 'phrases.yaml'));

/** The fields of a DecisionRule that come from its topic file. */
export function topicFields(topic: CardTopic): { row: DecisionRowId; topic: CardTopic; indicator: Indicator; sources: string[] } {
  const t = TOPICS[topic];
  return { row: t.row, topic, indicator: t.indicator, sources: [...t.sources] };
}
