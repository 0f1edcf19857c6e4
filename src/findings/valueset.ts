import { z } from 'zod';
import { MappingLoadError } from './errors.js';

/**
 * FHIR R4 ValueSet resources as the mappings hold them, and their compilation into matchers.
 * Codings are matched by system + code, exactly as written (ICD-10-CM with its dot).
 */

export const PROVENANCE_URL = 'http://spine-cds.local/fhir/StructureDefinition/code-provenance';
export const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
export const ICD10WHO = 'http://hl7.org/fhir/sid/icd-10';
const ICD_SYSTEMS = new Set([ICD10CM, ICD10WHO]);

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

export interface CompiledValueSet {
  id: string;
  url: string;
  file: string;
  /** Display from the value set when the code is a member, else undefined. */
  lookup(system: string, code: string): { display?: string } | undefined;
  /** The enumerated codes (filters cannot be enumerated). */
  enumerated(): CodeRef[];
}

type Predicate = (code: string) => boolean;

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

function compilePart(items: Include[] | undefined, file: string, field: string, needProvenance: boolean): Part {
  const part: Part = { concepts: new Map(), filters: new Map(), refs: [] };
  (items ?? []).forEach((inc, i) => {
    const at = `${field}[${i}]`;
    const incProvenance = hasProvenance(inc.extension);
    if (inc.valueSet) part.refs.push(...inc.valueSet);
    if (!inc.system) {
      if (!inc.valueSet?.length) throw new MappingLoadError(file, `${at}.system`, 'an include needs a system or a valueSet');
      if (inc.concept || inc.filter) throw new MappingLoadError(file, `${at}.system`, 'concepts and filters need a system');
      return;
    }
    const system = inc.system;
    if (!inc.concept?.length && !inc.filter?.length) {
      throw new MappingLoadError(file, at, 'an include with a system must list concepts or filters (whole code systems are not allowed)');
    }
    inc.concept?.forEach((c, j) => {
      if (needProvenance && !incProvenance && !hasProvenance(c.extension)) {
        throw new MappingLoadError(file, `${at}.concept[${j}].extension`, `code ${c.code} does not say where it came from (extension ${PROVENANCE_URL})`);
      }
      if (ICD_SYSTEMS.has(system) && !ICD_CODE.test(c.code)) {
        throw new MappingLoadError(file, `${at}.concept[${j}].code`, `"${c.code}" is not an ICD-10 code as FHIR writes it (with its dot, e.g. M54.16)`);
      }
      let codes = part.concepts.get(system);
      if (!codes) part.concepts.set(system, (codes = new Map()));
      codes.set(c.code, c.display);
    });
    inc.filter?.forEach((f, j) => {
      const fat = `${at}.filter[${j}]`;
      if (needProvenance && !incProvenance) {
        throw new MappingLoadError(file, `${at}.extension`, `a filter include must say where it came from (extension ${PROVENANCE_URL})`);
      }
      if (!ICD_SYSTEMS.has(system)) {
        throw new MappingLoadError(file, `${fat}.op`, `filters on ${system} need a terminology server; enumerate the codes or add an expansion`);
      }
      if (f.property !== 'concept') throw new MappingLoadError(file, `${fat}.property`, `only "concept" is supported, not "${f.property}"`);
      const predicate = icdFilter(f.op, f.value);
      if (typeof predicate === 'string') throw new MappingLoadError(file, `${fat}.value`, predicate);
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
  const raw = new Map<string, { file: string; resource: ValueSetResource; include: Part; exclude: Part }>();
  const byKey = new Map<string, string>();
  for (const { file, resource } of resources) {
    if (raw.has(resource.id)) throw new MappingLoadError(file, 'id', `duplicate ValueSet id "${resource.id}" (also in ${raw.get(resource.id)?.file})`);
    const include = compilePart(resource.compose.include, file, 'compose.include', true);
    const exclude = compilePart(resource.compose.exclude, file, 'compose.exclude', false);
    for (const [k, c] of (resource.expansion?.contains ?? []).entries()) {
      if (ICD_SYSTEMS.has(c.system) && !ICD_CODE.test(c.code)) {
        throw new MappingLoadError(file, `expansion.contains[${k}].code`, `"${c.code}" is not an ICD-10 code with its dot`);
      }
      let codes = include.concepts.get(c.system);
      if (!codes) include.concepts.set(c.system, (codes = new Map()));
      codes.set(c.code, c.display);
    }
    raw.set(resource.id, { file, resource, include, exclude });
    byKey.set(resource.id, resource.id);
    byKey.set(resource.url, resource.id);
  }

  const compiled = new Map<string, CompiledValueSet>();
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
        if (!target) throw new MappingLoadError(entry.file, field, `ValueSet "${ref}" is not in mappings/valuesets`);
        if (resolving.has(target)) throw new MappingLoadError(entry.file, field, `ValueSet "${ref}" includes itself`);
        return resolve(target);
      });
    const included = refs(entry.include, 'compose.include.valueSet');
    const excluded = refs(entry.exclude, 'compose.exclude.valueSet');
    const { include, exclude, resource, file } = entry;
    const vs: CompiledValueSet = {
      id,
      url: resource.url,
      file,
      lookup(system, code) {
        if (partLookup(exclude, system, code) || excluded.some((v) => v.lookup(system, code))) return undefined;
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
