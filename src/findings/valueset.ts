import { z } from 'zod';
import { KnowledgeFileError } from './errors.js';

/**
 * FHIR R4 ValueSet resources as the mappings hold them, and their compilation into matchers.
 * Codings are matched by system + code, exactly as written (ICD-10-CM with its dot).
 */

export const PROVENANCE_URL = 'http://spine-cds.local/fhir/StructureDefinition/code-provenance';
export const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
export const ICD10WHO = 'http://hl7.org/fhir/sid/icd-10';
const ICD_SYSTEMS = new Set([ICD10CM, ICD10WHO]);
/** ICD-10-PCS as FHIR names it (terminology.hl7.org: http://www.cms.gov/Medicare/Coding/ICD10). */
export const ICD10PCS = 'http://www.cms.gov/Medicare/Coding/ICD10';
/**
 * Name fallback (see mappings/README.md): an ingredient named in a medication's text, or a disease
 * named in a condition's text, when no coding is in the value set.
 */
export const NAME_MATCH_URL = 'http://spine-cds.local/fhir/StructureDefinition/name-match';
const OWN_EXTENSIONS = 'http://spine-cds.local/fhir/StructureDefinition/';
const KNOWN_VALUESET_EXTENSIONS = new Set([NAME_MATCH_URL, PROVENANCE_URL]);

const extension = z.object({ url: z.string().min(1), valueString: z.string().min(1).optional() }).loose();

const concept = z
  .object({
    code: z.string().trim().min(1),
    display: z.string().trim().min(1),
    extension: z.array(extension).optional(),
  })
  .loose();

const filter = z.object({
  property: z.string().min(1),
  op: z.string().min(1),
  value: z.string().min(1),
});

/** Words of letters and digits separated by single spaces or hyphens: "prednisone", "naproxen sodium". */
const WORDS = /^[\p{L}\p{N}]+(?:[ -][\p{L}\p{N}]+)*$/u;
/** The same, optionally ending in `*` (a word prefix: `inhal*` is inhaler, inhalation, inhaled). */
const WORDS_OR_PREFIX = /^[\p{L}\p{N}]+(?:[ -][\p{L}\p{N}]+)*\*?$/u;

const nameMatchPart = z.discriminatedUnion('url', [
  z.strictObject({ url: z.literal('name'), valueString: z.string().regex(WORDS, 'a name is words of letters and digits separated by one space or hyphen (no wildcards, no surrounding spaces)') }),
  z.strictObject({ url: z.literal('exclude-word'), valueString: z.string().regex(WORDS_OR_PREFIX, 'an exclude-word is words of letters and digits, optionally ending in * for a word prefix (inhal*)') }),
  z.strictObject({ url: z.literal('negated-by'), valueString: z.string().regex(WORDS, 'a negation is words of letters and digits separated by one space or hyphen') }),
  z.strictObject({ url: z.literal('provenance'), valueString: z.string().trim().min(1, 'say where the names and exclusions come from') }),
], { error: 'each part needs url "name", "exclude-word" or "provenance" (or "negated-by") and a valueString' });

/** ValueSet.extension[url=name-match]: a complex extension (FHIR: no value[x] beside nested extensions). */
const nameMatchExtension = z
  .strictObject({ url: z.literal(NAME_MATCH_URL), extension: z.array(nameMatchPart).min(1) })
  .superRefine((ext, ctx) => {
    const count = (url: string): number => ext.extension.filter((e) => e.url === url).length;
    if (count('name') === 0) ctx.addIssue({ code: 'custom', path: ['extension'], message: 'list at least one name (url "name")' });
    if (count('provenance') !== 1) ctx.addIssue({ code: 'custom', path: ['extension'], message: 'give exactly one provenance (url "provenance") saying where the names and exclusions come from' });
    const seen = new Set<string>();
    ext.extension.forEach((e, i) => {
      const key = `${e.url}|${e.valueString.toLowerCase()}`;
      if (e.url !== 'provenance' && seen.has(key)) ctx.addIssue({ code: 'custom', path: ['extension', i, 'valueString'], message: `"${e.valueString}" is listed twice` });
      seen.add(key);
    });
  });

/**
 * A ValueSet-level extension. Ours (spine-cds.local StructureDefinitions) must be known, so a typo in
 * a url cannot silently switch a rule off; name-match is checked in full.
 */
const valueSetExtension = z
  .object({ url: z.string().min(1) })
  .loose()
  .superRefine((ext, ctx) => {
    if (ext.url.startsWith(OWN_EXTENSIONS) && !KNOWN_VALUESET_EXTENSIONS.has(ext.url)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `unknown extension "${ext.url}" (known: ${[...KNOWN_VALUESET_EXTENSIONS].join(', ')})` });
      return;
    }
    if (ext.url !== NAME_MATCH_URL) return;
    const r = nameMatchExtension.safeParse(ext);
    if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: issue.path as PropertyKey[], message: issue.message });
  });

const include = z
  .object({
    system: z.string().min(1).optional(),
    version: z.string().optional(),
    concept: z.array(concept).optional(),
    filter: z.array(filter).optional(),
    valueSet: z.array(z.string().min(1)).optional(),
    extension: z.array(extension).optional(),
  })
  .loose();

export const valueSetSchema = z
  .object({
    resourceType: z.literal('ValueSet'),
    id: z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/),
    url: z.string().min(1),
    name: z.string().min(1),
    title: z.string().optional(),
    extension: z.array(valueSetExtension).optional(),
    status: z.enum(['draft', 'active', 'retired', 'unknown']),
    description: z.string().min(1, 'say where the codes came from'),
    compose: z.object({ include: z.array(include).min(1), exclude: z.array(include).optional() }).loose(),
    expansion: z
      .object({
        contains: z
          .array(z.object({ system: z.string().min(1), code: z.string().min(1), display: z.string().optional() }).loose())
          .optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export type ValueSetResource = z.infer<typeof valueSetSchema>;
type Include = z.infer<typeof include>;

export interface CodeRef {
  system: string;
  code: string;
  display?: string;
}

/**
 * The name fallback of a value set: regular expressions compiled once at load. `match` is given every
 * name of one resource (coding displays, CodeableConcept.text) and returns the one that holds a listed
 * name, unless any of the names has an exclusion word of the same rule.
 */
export interface NameMatcher {
  /**
   * `possible`, when given, holds at least every rule these names can satisfy (a NameScanner's
   * answer): the others are not tried, which gives the same answer without their regular expressions.
   */
  match(names: readonly string[], possible?: ReadonlySet<NameRule>): string | undefined;
  /** Its rules, own and those of included value sets, in the order `match` tries them. */
  rules: readonly NameRule[];
}

/** One name-match extension of a value set: its names, exclusion words and negations. */
export interface NameRule {
  /** The first word of each listed name, lower case: a text without one of them as a whole word cannot match. */
  readonly firstWords: readonly string[];
  readonly names: RegExp;
  readonly exclude: RegExp | undefined;
  /** Every mention (global), and what makes one negated: only for rules with `negated-by` words. */
  readonly negation?: { mentions: RegExp; before: RegExp };
}

export interface CompiledValueSet {
  id: string;
  url: string;
  file: string;
  /** Display from the value set when the code is a member, else undefined. */
  lookup(system: string, code: string): { display?: string } | undefined;
  /** Every code system the set draws codes from (its own and its included sets'). */
  systems: ReadonlySet<string>;
  /** True when the code is explicitly excluded (compose.exclude): a name must not bring it back. */
  excludes(system: string, code: string): boolean;
  /** The name fallback (own rules and those of included value sets), if the set has one. */
  nameMatcher?: NameMatcher;
  /** The enumerated codes (filters cannot be enumerated). */
  enumerated(): CodeRef[];
}

type Predicate = (code: string) => boolean;

/** Not preceded or followed by a letter or digit: a whole word, in any script. */
const WORD_START = '(?<![\\p{L}\\p{N}])';
const WORD_END = '(?![\\p{L}\\p{N}])';

function wordsPattern(words: string): string {
  return words
    .split(/[ -]/)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s-]+');
}

function nameRules(resource: ValueSetResource): NameRule[] {
  const rules: NameRule[] = [];
  for (const ext of resource.extension ?? []) {
    if (ext.url !== NAME_MATCH_URL) continue;
    // Validated by valueSetExtension; only the parts are read here.
    const parts = (ext as unknown as { extension: { url: string; valueString: string }[] }).extension;
    const listed = parts.filter((p) => p.url === 'name').map((p) => p.valueString);
    const names = listed.map(wordsPattern);
    const excl = parts
      .filter((p) => p.url === 'exclude-word')
      .map((p) => (p.valueString.endsWith('*') ? wordsPattern(p.valueString.slice(0, -1)) : `${wordsPattern(p.valueString)}${WORD_END}`));
    const negations = parts.filter((p) => p.url === 'negated-by').map((p) => wordsPattern(p.valueString));
    const namesPattern = `${WORD_START}(?:${names.join('|')})${WORD_END}`;
    rules.push({
      firstWords: listed.map((name) => (name.split(/[ -]/)[0] ?? '').toLowerCase()),
      names: new RegExp(namesPattern, 'iu'),
      exclude: excl.length ? new RegExp(`${WORD_START}(?:${excl.join('|')})`, 'iu') : undefined,
      // A negation reaches the name right after it, or after one more word ("without neurogenic
      // claudication", "no left leg swelling"); no further, so "no change in AAA" still counts.
      ...(negations.length
        ? { negation: { mentions: new RegExp(namesPattern, 'giu'), before: new RegExp(`${WORD_START}(?:${negations.join('|')})(?:[\\s-]+[\\p{L}\\p{N}]+)?[\\s-]+$`, 'iu') } }
        : {}),
    });
  }
  return rules;
}

/** A mention of a listed name that no `negated-by` word denies; any one such mention is enough. */
function mentions(rule: NameRule, text: string): boolean {
  if (!rule.negation) return rule.names.test(text);
  // Only reached for text that names something: the cheap test first, then each mention's left side.
  if (!rule.names.test(text)) return false;
  const { mentions: all, before } = rule.negation;
  for (const m of text.matchAll(all)) if (!before.test(text.slice(0, m.index))) return true;
  return false;
}

function nameMatcherOf(rules: NameRule[]): NameMatcher | undefined {
  if (!rules.length) return undefined;
  return {
    rules,
    match(names, possible) {
      for (const rule of rules) {
        if (possible && !possible.has(rule)) continue;
        // Names first: most resources hold none, and then their exclusions need not be read.
        const hit = names.find((n) => mentions(rule, n));
        if (hit === undefined) continue;
        if (rule.exclude && names.some((n) => rule.exclude?.test(n))) continue;
        return hit;
      }
      return undefined;
    },
  };
}

/**
 * Finds, in one pass over a text, the name rules it may satisfy, so that each value set then tries
 * only those (a long chart's conditions were tested against every set's names, half the cost of the
 * findings on charts dense in the rules' own data).
 */
export interface NameScanner {
  /** Adds to `into` every rule one of whose names begins with a whole word of `text`: at least every rule `text` can satisfy. */
  collect(text: string, into: Set<NameRule>): void;
  /** The rules it knows: a set with any other rule must not rely on its answers. */
  rules: ReadonlySet<NameRule>;
}

/**
 * Why a superset: a rule's name matches only where the text has the name's first word as a whole
 * word (the name is a whole-word match, and a first word is letters and digits up to a space or
 * hyphen). The pass looks for those words with the same flags as the rules ('iu'), so the same case
 * folding decides. Words outside ASCII are not looked up; their rules are tried on every text.
 */
export function nameScanner(rules: Iterable<NameRule>): NameScanner | undefined {
  const all = new Set<NameRule>();
  const byWord = new Map<string, NameRule[]>();
  const always: NameRule[] = [];
  for (const rule of rules) {
    if (all.has(rule)) continue;
    all.add(rule);
    for (const word of rule.firstWords) {
      if (!/^[a-z0-9]+$/.test(word)) {
        if (!always.includes(rule)) always.push(rule);
        continue;
      }
      const list = byWord.get(word);
      if (!list) byWord.set(word, [rule]);
      else if (!list.includes(rule)) list.push(rule);
    }
  }
  if (!all.size) return undefined;
  const words = byWord.size ? new RegExp(`${WORD_START}(?:${[...byWord.keys()].join('|')})${WORD_END}`, 'giu') : undefined;
  return {
    rules: all,
    collect(text, into) {
      for (const rule of always) into.add(rule);
      if (!words) return;
      words.lastIndex = 0;
      for (let m = words.exec(text); m; m = words.exec(text)) {
        const found = byWord.get(asciiFolded(m[0]));
        // Unreachable while asciiFolded mirrors the regex's folding; if it ever did not, every rule is tried.
        for (const rule of found ?? all) into.add(rule);
      }
    },
  };
}

/**
 * A word the 'iu' regex matched against an ASCII word, in that word's spelling: besides ASCII letters
 * only the Kelvin sign and the long s fold to ASCII letters (Unicode CaseFolding.txt, simple folding).
 */
function asciiFolded(word: string): string {
  // eslint-disable-next-line no-control-regex
  return (/[^\x00-\x7f]/.test(word) ? word.replace(/\u212A/g, 'k').replace(/\u017F/g, 's') : word).toLowerCase();
}

interface Part {
  concepts: Map<string, Map<string, string | undefined>>;
  filters: Map<string, Predicate[]>;
  refs: string[];
}

/** ICD-10 codes as FHIR writes them: category, then a dot and up to four characters. */
const ICD_CODE = /^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$/;
const ICD_BLOCK = /^([A-Z][0-9][0-9A-Z])-([A-Z][0-9][0-9A-Z])$/;

function icdFilter(op: string, value: string): Predicate | string {
  if (op !== 'is-a' && op !== 'descendent-of') return `op "${op}" is not supported for ICD-10 (use is-a or descendent-of)`;
  const block = ICD_BLOCK.exec(value);
  if (block) {
    const lo = block[1] as string;
    const hi = block[2] as string;
    if (lo > hi) return `block "${value}" runs backwards`;
    return (code) => {
      if (!ICD_CODE.test(code)) return false;
      const category = code.slice(0, 3);
      return category >= lo && category <= hi;
    };
  }
  if (!ICD_CODE.test(value)) return `"${value}" is neither an ICD-10 code with its dot (M46.2) nor a block (C00-C96)`;
  const self = op === 'is-a';
  // The ICD hierarchy is the code prefix: M46.2 is the parent of M46.20..M46.29 and their children.
  const prefix = value.includes('.') ? value : `${value}.`;
  return (code) => ICD_CODE.test(code) && ((self && code === value) || code.startsWith(prefix));
}

/** ICD-10-PCS: seven characters, digits and letters without I and O. */
const PCS_CODE = /^[0-9A-HJ-NP-Z]{7}$/;
/** A leading part of a PCS code that names at least section, body system, operation and body part. */
const PCS_PREFIX = /^[0-9A-HJ-NP-Z]{4,6}$/;

/**
 * ICD-10-PCS codes are positional (section, body system, root operation, body part, approach, device,
 * qualifier), so a table row is every code that starts with its characters: `is-a 0SG0` is every
 * Fusion of Lumbar Vertebral Joint, whatever the approach, device or qualifier. At least four
 * characters, so a filter always names a body part.
 */
function pcsFilter(op: string, value: string): Predicate | string {
  if (op !== 'is-a') return `op "${op}" is not supported for ICD-10-PCS (use is-a with the leading characters of the codes)`;
  if (!PCS_PREFIX.test(value)) return `"${value}" is not the leading 4 to 6 characters of an ICD-10-PCS code (e.g. 0SG0: fusion of lumbar vertebral joint)`;
  return (code) => PCS_CODE.test(code) && code.startsWith(value);
}

function compilePart(items: Include[] | undefined, file: string, field: string, needProvenance: boolean): Part {
  const part: Part = { concepts: new Map(), filters: new Map(), refs: [] };
  (items ?? []).forEach((inc, i) => {
    const at = `${field}[${i}]`;
    const incProvenance = hasProvenance(inc.extension);
    if (inc.valueSet) part.refs.push(...inc.valueSet);
    if (!inc.system) {
      if (!inc.valueSet?.length) throw new KnowledgeFileError(file, `${at}.system`, 'an include needs a system or a valueSet');
      if (inc.concept || inc.filter) throw new KnowledgeFileError(file, `${at}.system`, 'concepts and filters need a system');
      return;
    }
    const system = inc.system;
    if (!inc.concept?.length && !inc.filter?.length) {
      throw new KnowledgeFileError(file, at, 'an include with a system must list concepts or filters (whole code systems are not allowed)');
    }
    inc.concept?.forEach((c, j) => {
      if (needProvenance && !incProvenance && !hasProvenance(c.extension)) {
        throw new KnowledgeFileError(file, `${at}.concept[${j}].extension`, `code ${c.code} does not say where it came from (extension ${PROVENANCE_URL})`);
      }
      if (ICD_SYSTEMS.has(system) && !ICD_CODE.test(c.code)) {
        throw new KnowledgeFileError(file, `${at}.concept[${j}].code`, `"${c.code}" is not an ICD-10 code as FHIR writes it (with its dot, e.g. M54.16)`);
      }
      let codes = part.concepts.get(system);
      if (!codes) part.concepts.set(system, (codes = new Map()));
      codes.set(c.code, c.display);
    });
    inc.filter?.forEach((f, j) => {
      const fat = `${at}.filter[${j}]`;
      if (needProvenance && !incProvenance) {
        throw new KnowledgeFileError(file, `${at}.extension`, `a filter include must say where it came from (extension ${PROVENANCE_URL})`);
      }
      if (!ICD_SYSTEMS.has(system) && system !== ICD10PCS) {
        throw new KnowledgeFileError(file, `${fat}.op`, `filters on ${system} need a terminology server; enumerate the codes or add an expansion`);
      }
      if (f.property !== 'concept') throw new KnowledgeFileError(file, `${fat}.property`, `only "concept" is supported, not "${f.property}"`);
      const predicate = system === ICD10PCS ? pcsFilter(f.op, f.value) : icdFilter(f.op, f.value);
      if (typeof predicate === 'string') throw new KnowledgeFileError(file, `${fat}.value`, predicate);
      let list = part.filters.get(system);
      if (!list) part.filters.set(system, (list = []));
      list.push(predicate);
    });
  });
  return part;
}

function hasProvenance(ext: { url: string; valueString?: string | undefined }[] | undefined): boolean {
  return !!ext?.some((e) => e.url === PROVENANCE_URL && typeof e.valueString === 'string' && e.valueString.trim() !== '');
}

function partLookup(part: Part, system: string, code: string): { display?: string } | undefined {
  const codes = part.concepts.get(system);
  if (codes?.has(code)) {
    const display = codes.get(code);
    return display === undefined ? {} : { display };
  }
  const filters = part.filters.get(system);
  if (filters?.some((f) => f(code))) return {};
  return undefined;
}

/** Compiles every value set, then resolves include.valueSet references by url or id (cycles are errors). */
export function compileValueSets(resources: { file: string; resource: ValueSetResource }[]): Map<string, CompiledValueSet> {
  const raw = new Map<string, { file: string; resource: ValueSetResource; include: Part; exclude: Part; names: NameRule[] }>();
  const byKey = new Map<string, string>();
  for (const { file, resource } of resources) {
    if (raw.has(resource.id)) throw new KnowledgeFileError(file, 'id', `duplicate ValueSet id "${resource.id}" (also in ${raw.get(resource.id)?.file})`);
    const include = compilePart(resource.compose.include, file, 'compose.include', true);
    const exclude = compilePart(resource.compose.exclude, file, 'compose.exclude', false);
    for (const [k, c] of (resource.expansion?.contains ?? []).entries()) {
      if (ICD_SYSTEMS.has(c.system) && !ICD_CODE.test(c.code)) {
        throw new KnowledgeFileError(file, `expansion.contains[${k}].code`, `"${c.code}" is not an ICD-10 code with its dot`);
      }
      let codes = include.concepts.get(c.system);
      if (!codes) include.concepts.set(c.system, (codes = new Map()));
      codes.set(c.code, c.display);
    }
    raw.set(resource.id, { file, resource, include, exclude, names: nameRules(resource) });
    byKey.set(resource.id, resource.id);
    byKey.set(resource.url, resource.id);
  }

  const compiled = new Map<string, CompiledValueSet>();
  /** Name rules by id, with those of included value sets. */
  const allRules = new Map<string, NameRule[]>();
  const resolving = new Set<string>();
  const resolve = (id: string): CompiledValueSet => {
    const done = compiled.get(id);
    if (done) return done;
    const entry = raw.get(id);
    if (!entry) throw new Error(`unreachable: ${id}`);
    resolving.add(id);
    const refs = (part: Part, field: string): CompiledValueSet[] =>
      part.refs.map((ref) => {
        const target = byKey.get(ref.split('|')[0] ?? ref);
        if (!target) throw new KnowledgeFileError(entry.file, field, `ValueSet "${ref}" is not in mappings/valuesets`);
        if (resolving.has(target)) throw new KnowledgeFileError(entry.file, field, `ValueSet "${ref}" includes itself`);
        return resolve(target);
      });
    const included = refs(entry.include, 'compose.include.valueSet');
    const excluded = refs(entry.exclude, 'compose.exclude.valueSet');
    const { include, exclude, resource, file } = entry;
    const excludes = (system: string, code: string): boolean => !!partLookup(exclude, system, code) || excluded.some((v) => !!v.lookup(system, code));
    const names = [...entry.names, ...included.flatMap((v) => allRules.get(v.id) ?? [])];
    allRules.set(id, names);
    const nameMatcher = nameMatcherOf(names);
    const systems = new Set([...include.concepts.keys(), ...include.filters.keys(), ...included.flatMap((v) => [...v.systems])]);
    const vs: CompiledValueSet = {
      id,
      url: resource.url,
      file,
      systems,
      excludes,
      ...(nameMatcher ? { nameMatcher } : {}),
      lookup(system, code) {
        if (excludes(system, code)) return undefined;
        const own = partLookup(include, system, code);
        if (own) return own;
        for (const v of included) {
          const hit = v.lookup(system, code);
          if (hit) return hit;
        }
        return undefined;
      },
      enumerated() {
        const out: CodeRef[] = [];
        for (const [system, codes] of include.concepts) {
          for (const [code, display] of codes) {
            if (!vs.lookup(system, code)) continue;
            out.push(display === undefined ? { system, code } : { system, code, display });
          }
        }
        for (const v of included) out.push(...v.enumerated().filter((c) => vs.lookup(c.system, c.code)));
        return out;
      },
    };
    resolving.delete(id);
    compiled.set(id, vs);
    return vs;
  };
  for (const id of raw.keys()) resolve(id);
  for (const [key, id] of byKey) if (key !== id) compiled.set(key, compiled.get(id) as CompiledValueSet);
  return compiled;
}
