import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { SpinalRegion } from '../../src/findings/types.js';
import { compileValueSets, valueSetSchema } from '../../src/findings/valueset.js';
import type { Indicator } from '../../src/cards/recommendation.js';
import { CARD_TOPICS, type CardTopic } from './card-topics.js';
import type { Coding } from '../../src/cards/types.js';
import { KnowledgeFileError, schemaError } from '../../src/knowledge/knowledge-file-error.js';
import { knowledgeFileName, parseKnowledgeText, readKnowledgeFileSync, unreadable } from './knowledge-file.js';
import { TOPICS } from './topics.js';

/**
 * The clinical knowledge the rules read as data (mappings/orders, mappings/codesystems), validated
 * once at start. A broken file fails loudly with its path, the field and the reason.
 */

const CodingSchema = z.object({
  system: z.url(),
  code: z.string().min(1),
  display: z.string().min(1).optional(),
});

const CatalogCodingSchema = CodingSchema.extend({
  verification: z.enum(['verified', 'third-party', 'memory']),
});

const OrderSchema = z
  .object({
    key: z.string().regex(/^[a-z0-9-]+$/),
    display: z.string().min(1),
    kind: z.enum(['imaging', 'lab', 'referral']),
    modality: z.enum(['MR', 'CT', 'XR']).optional(),
    region: z.enum(['cervical', 'thoracic', 'lumbar']).optional(),
    contrast: z.enum(['without', 'without-and-with']).optional(),
    codes: z.array(CatalogCodingSchema).min(1),
    resultCodes: z.array(CodingSchema).optional(),
    equivalentCodes: z.array(CodingSchema).optional(),
  })
  .refine((o) => o.kind !== 'imaging' || (o.modality && o.region && o.contrast), {
    message: 'an imaging order needs modality, region and contrast',
  });

const CatalogSchema = z.object({
  categories: z.object({ imaging: CodingSchema, lab: CodingSchema, referral: CodingSchema }),
  orders: z.array(OrderSchema).min(1),
});

const ImagingEntrySchema = z
  .object({
    region: z.enum(['cervical', 'thoracic', 'lumbar']),
    modality: z.enum(['MR', 'CT', 'XR']),
    system: z.url(),
    codes: z.array(z.string().min(1)).min(1).optional(),
    range: z.tuple([z.string().regex(/^\d{5}$/), z.string().regex(/^\d{5}$/)]).optional(),
  })
  .refine((e) => (e.codes === undefined) !== (e.range === undefined), { message: 'give either codes or range' });

const SpineImagingSchema = z.object({
  entries: z.array(ImagingEntrySchema).min(1),
  excluded: z.array(z.object({ system: z.url(), code: z.string().min(1), reason: z.string().min(1) })).default([]),
});

const ConceptSchema = z.object({
  code: z.string().min(1),
  display: z.string().min(1),
  property: z
    .array(z.object({ code: z.string(), valueString: z.string().optional(), valueCode: z.string().optional() }))
    .optional(),
});

const CodeSystemSchema = z.object({
  resourceType: z.literal('CodeSystem'),
  url: z.url(),
  status: z.enum(['draft', 'active', 'retired', 'unknown']),
  content: z.literal('complete'),
  concept: z.array(ConceptSchema).min(1),
});

export type OrderDefinition = z.infer<typeof OrderSchema>;
export type ImagingModality = 'MR' | 'CT' | 'XR';

export interface ImagingClass {
  region: SpinalRegion;
  modality: ImagingModality;
}

export interface RuleKnowledge {
  orders: ReadonlyMap<string, OrderDefinition>;
  categories: { imaging: Coding; lab: Coding; referral: Coding };
  /** Classifies one coding as spine imaging, or undefined (including the excluded trap codes). */
  classifyImagingCoding(coding: { system?: string; code?: string }): ImagingClass | undefined;
  topicSystem: string;
  topicDisplay: Readonly<Record<CardTopic, string>>;
  topicIndicator: Readonly<Record<CardTopic, Indicator>>;
  /** Override reasons by code (mappings/codesystems/override-reason.json). */
  overrideReasons: ReadonlyMap<string, Coding>;
  /**
   * A coding of the epidural-abscess value set (mappings/valuesets/epidural-abscess.json), matched by
   * system and code: the same code string in another system is another concept.
   */
  isEpiduralAbscessCoding(coding: { system?: unknown; code?: unknown }): boolean;
}

/** The value set that makes an infection card critical (docs/clinical-rules.md, Decision table D5). */
export const EPIDURAL_ABSCESS_VALUE_SET = 'valuesets/epidural-abscess.json';

async function loadFile<T>(mappingsDir: string, relative: string, schema: z.ZodType<T>): Promise<T> {
  let text: string;
  try {
    text = await readFile(path.join(mappingsDir, relative), 'utf8');
  } catch (err) {
    throw unreadable(mappingsDir, relative, err);
  }
  const parsed = schema.safeParse(parseKnowledgeText(mappingsDir, relative, text));
  if (!parsed.success) throw schemaError(knowledgeFileName(mappingsDir, relative), parsed.error.issues);
  return parsed.data;
}

function buildImagingClassifier(spec: z.infer<typeof SpineImagingSchema>): RuleKnowledge['classifyImagingCoding'] {
  const exact = new Map<string, ImagingClass>();
  const ranges: { system: string; from: number; to: number; cls: ImagingClass }[] = [];
  for (const e of spec.entries) {
    const cls = { region: e.region, modality: e.modality };
    if (e.codes) for (const code of e.codes) exact.set(`${e.system}|${code}`, cls);
    if (e.range) ranges.push({ system: e.system, from: Number(e.range[0]), to: Number(e.range[1]), cls });
  }
  const excluded = new Set(spec.excluded.map((x) => `${x.system}|${x.code}`));
  return (coding) => {
    if (typeof coding?.system !== 'string' || typeof coding.code !== 'string') return undefined;
    const code = coding.code.trim();
    const key = `${coding.system}|${code}`;
    if (excluded.has(key)) return undefined;
    const hit = exact.get(key);
    if (hit) return hit;
    if (/^\d{5}$/.test(code)) {
      const n = Number(code);
      return ranges.find((r) => r.system === coding.system && n >= r.from && n <= r.to)?.cls;
    }
    return undefined;
  };
}

function propertyOf(concept: z.infer<typeof ConceptSchema>, code: string): string | undefined {
  const p = concept.property?.find((x) => x.code === code);
  return p?.valueCode ?? p?.valueString;
}

/**
 * The LOINC result codes of the lab orders (ESR, CBC panels, CRP, ...), which the duplicate-order
 * check looks for among the patient's Observations. Read synchronously for the prefetch template
 * (hooks/prefetch.ts), with the same schema and errors as loadRuleKnowledge.
 */
export function labResultLoincInFolder(mappingsDir: string): string[] {
  const { data } = readKnowledgeFileSync(mappingsDir, 'orders/catalog.yaml', CatalogSchema);
  const codes = data.orders
    .filter((o) => o.kind === 'lab')
    .flatMap((o) => o.resultCodes ?? [])
    .filter((c) => c.system === LOINC)
    .map((c) => c.code);
  return [...new Set(codes)];
}

const LOINC = 'http://loinc.org';

async function loadEpiduralAbscess(mappingsDir: string): Promise<RuleKnowledge['isEpiduralAbscessCoding']> {
  const file = knowledgeFileName(mappingsDir, EPIDURAL_ABSCESS_VALUE_SET);
  const resource = await loadFile(mappingsDir, EPIDURAL_ABSCESS_VALUE_SET, valueSetSchema);
  const vs = compileValueSets([{ file, resource }]).get(resource.id);
  if (!vs || vs.enumerated().length === 0) throw new KnowledgeFileError(file, 'compose.include', 'lists no codes');
  return (coding) =>
    typeof coding?.system === 'string' && typeof coding.code === 'string' && vs.lookup(coding.system, coding.code.trim()) !== undefined && !vs.excludes(coding.system, coding.code.trim());
}

export async function loadRuleKnowledge(mappingsDir: string): Promise<RuleKnowledge> {
  const catalogFile = 'orders/catalog.yaml';
  const [catalog, imaging, topics, overrides, isEpiduralAbscessCoding] = await Promise.all([
    loadFile(mappingsDir, catalogFile, CatalogSchema),
    loadFile(mappingsDir, 'orders/spine-imaging.yaml', SpineImagingSchema),
    loadFile(mappingsDir, 'codesystems/card-topic.json', CodeSystemSchema),
    loadFile(mappingsDir, 'codesystems/override-reason.json', CodeSystemSchema),
    loadEpiduralAbscess(mappingsDir),
  ]);

  const orders = new Map<string, OrderDefinition>();
  for (const [i, o] of catalog.orders.entries()) {
    if (orders.has(o.key)) throw new KnowledgeFileError(knowledgeFileName(mappingsDir, catalogFile), `orders[${i}].key`, `duplicate key "${o.key}"`);
    orders.set(o.key, o);
  }
  for (const required of REQUIRED_ORDER_KEYS) {
    if (!orders.has(required)) throw new KnowledgeFileError(knowledgeFileName(mappingsDir, catalogFile), 'orders', `missing order "${required}" the rules suggest`);
  }

  const topicFile = knowledgeFileName(mappingsDir, 'codesystems/card-topic.json');
  const topicDisplay = {} as Record<CardTopic, string>;
  const topicIndicator = {} as Record<CardTopic, Indicator>;
  for (const [i, concept] of topics.concept.entries()) {
    if (!(CARD_TOPICS as readonly string[]).includes(concept.code)) {
      throw new KnowledgeFileError(topicFile, `concept[${i}].code`, `"${concept.code}" is not a card topic of docs/clinical-rules.md (Card topics)`);
    }
    const indicator = propertyOf(concept, 'indicator');
    if (indicator !== 'info' && indicator !== 'warning' && indicator !== 'critical') {
      throw new KnowledgeFileError(topicFile, `concept[${i}].property(indicator)`, 'must be info, warning or critical');
    }
    // The published code system repeats what the topic file decides; it may not say otherwise.
    const topic = TOPICS[concept.code as CardTopic];
    if (indicator !== topic.indicator) {
      throw new KnowledgeFileError(topicFile, `concept[${i}].property(indicator)`, `"${indicator}", but hooks/topics/${concept.code}.yaml (the source of truth) says "${topic.indicator}"`);
    }
    const row = propertyOf(concept, 'decision-row');
    if (row !== topic.row) {
      throw new KnowledgeFileError(topicFile, `concept[${i}].property(decision-row)`, `"${row ?? ''}", but hooks/topics/${concept.code}.yaml (the source of truth) says "${topic.row}"`);
    }
    topicDisplay[concept.code as CardTopic] = concept.display;
    topicIndicator[concept.code as CardTopic] = indicator;
  }
  for (const topic of CARD_TOPICS) {
    if (!topicDisplay[topic]) throw new KnowledgeFileError(topicFile, 'concept', `missing card topic "${topic}"`);
  }

  const overrideReasons = new Map<string, Coding>();
  for (const c of overrides.concept) overrideReasons.set(c.code, { system: overrides.url, code: c.code, display: c.display });

  return {
    orders,
    categories: catalog.categories,
    classifyImagingCoding: buildImagingClassifier(imaging),
    topicSystem: topics.url,
    topicDisplay,
    topicIndicator,
    overrideReasons,
    isEpiduralAbscessCoding,
  };
}

/** Orders the rule table refers to by key; the catalog must define them. */
export const REQUIRED_ORDER_KEYS = [
  'mri-lumbar-wo',
  'mri-lumbar-wwo',
  'mri-cervical-wo',
  'mri-cervical-wwo',
  'mri-thoracic-wo',
  'esr',
  'cbc',
  'crp',
  'referral-spine-surgery',
  'referral-physiotherapy',
  // Mimickers (hooks/rules/mimickers.ts)
  'd-dimer',
  'hba1c',
  'vitamin-b12',
] as const;
