import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';

/**
 * FHIRPath expressions of the mappings, compiled once at load with fhirpath.js and its R4 model.
 *
 * Speed: the engine costs 2-5 microseconds per call even on a bare member path, which dominates
 * evaluation of large records. Expressions that are plain member paths, with `ofType(T)` only on a
 * choice element, unions of such paths (`code.coding | bodySite.coding`), are therefore also compiled,
 * per resource type and with the same R4 model, into direct property walks. Anything else runs on
 * fhirpath.js. test/findings/fhirpath-fast-path.test.ts proves the two agree for every shipped
 * expression on the real fixtures and on generated resources. (JSON that no FHIR parser would accept,
 * such as an array directly inside an array, may come out differently; the evaluator ignores such
 * elements either way.)
 */
export interface CompiledExpression {
  (resource: unknown): unknown[];
  /** What `[0]` of the whole result is, without building the result (run once per candidate resource). */
  first(resource: unknown): unknown;
}

type Walk = (resource: Record<string, unknown>) => unknown[];
interface Walks {
  all: Walk;
  first: (resource: Record<string, unknown>) => unknown;
}

interface Model {
  choiceTypePaths: Record<string, string[]>;
  path2Type: Record<string, string>;
  pathsDefinedElsewhere: Record<string, string>;
}
const model = r4 as unknown as Model;

/** The expression on fhirpath.js alone (the reference the fast path is tested against). */
export function engineExpression(source: string): CompiledExpression {
  const engine = fhirpath.compile(source, r4) as (resource: unknown) => unknown;
  const all = (resource: unknown): unknown[] => {
    const out = engine(resource);
    return Array.isArray(out) ? out : [];
  };
  return Object.assign(all, { first: (resource: unknown) => all(resource)[0] });
}

/** Throws the engine's parse error; the loader turns it into a MappingLoadError. */
export function compileExpression(source: string): CompiledExpression {
  const slow = engineExpression(source);
  const branches = parseSimplePath(source);
  if (!branches) return slow;
  const walks = new Map<string, Walks | null>();
  const walksFor = (resource: unknown): Walks | null => {
    const type = typeof resource === 'object' && resource !== null ? (resource as { resourceType?: unknown }).resourceType : undefined;
    if (typeof type !== 'string') return null;
    let walk = walks.get(type);
    if (walk === undefined) {
      walk = planWalk(type, branches);
      walks.set(type, walk);
    }
    return walk;
  };
  const all = (resource: unknown): unknown[] => {
    const walk = walksFor(resource);
    return walk ? walk.all(resource as Record<string, unknown>) : slow(resource);
  };
  return Object.assign(all, {
    first: (resource: unknown): unknown => {
      const walk = walksFor(resource);
      return walk ? walk.first(resource as Record<string, unknown>) : slow.first(resource);
    },
  });
}

type Step = { member: string } | { ofType: string };

const IDENT = /^[A-Za-z][A-Za-z0-9]*$/;
const OF_TYPE = /^ofType\(([A-Za-z]+)\)$/;

/** The branches of a union of member paths, or undefined when the expression is anything richer. */
export function parseSimplePath(source: string): Step[][] | undefined {
  const branches: Step[][] = [];
  for (const raw of source.split('|')) {
    const parts = raw.trim().split('.');
    const steps: Step[] = [];
    for (const part of parts) {
      const t = OF_TYPE.exec(part);
      if (t) steps.push({ ofType: t[1] as string });
      else if (IDENT.test(part)) steps.push({ member: part });
      else return undefined;
    }
    if (steps.length === 0 || !('member' in (steps[0] as Step))) return undefined;
    branches.push(steps);
  }
  return branches;
}

/**
 * One member step. For a choice element fhirpath.js takes the first of the model's choice types that
 * is present (value or `_` sibling) and only then applies ofType, so the walk does the same.
 */
type Access = { key: string; chosen?: ChoiceTest };
/** Whether, of a choice element's types, the first one present on the object is the wanted one. */
type ChoiceTest = (obj: Record<string, unknown>) => boolean;

/** FHIR primitive types (choiceTypePaths spells them capitalised, path2Type in lower camel case). */
const PRIMITIVES = new Set(
  ['boolean', 'integer', 'string', 'decimal', 'uri', 'url', 'canonical', 'base64Binary', 'instant', 'date', 'dateTime', 'time', 'code', 'oid', 'id', 'markdown', 'unsignedInt', 'positiveInt', 'uuid', 'xhtml'].map((t) => t.toLowerCase()),
);

/** Resolves member names against the R4 model for one resource type; null when outside the subset. */
function planWalk(resourceType: string, branches: Step[][]): Walks | null {
  if (!model.path2Type[`${resourceType}.id`]) return null;
  const plans: Access[][] = [];
  for (const steps of branches) {
    const plan: Access[] = [];
    let context = resourceType;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i] as Step;
      if (!('member' in step)) return null;
      if (step.member === resourceType && i === 0) return null;
      const written = `${context}.${step.member}`;
      const path = model.pathsDefinedElsewhere[written] ?? written;
      const choices = model.choiceTypePaths[path];
      let key = step.member;
      let type: string | undefined;
      let chosen: ChoiceTest | undefined;
      if (choices) {
        const next = steps[i + 1];
        if (!next || !('ofType' in next)) return null;
        const wanted = next.ofType.toLowerCase();
        const picked = choices.find((c) => c.toLowerCase() === wanted);
        if (!picked) return null;
        key = `${step.member}${picked}`;
        type = picked;
        chosen = choiceTest(choices.map((c) => `${step.member}${c}`), key);
        i++;
      } else {
        const next = steps[i + 1];
        if (next && 'ofType' in next) return null;
        type = model.path2Type[path];
        if (!type) return null;
      }
      const complex = type === 'BackboneElement' || type === 'Element';
      const primitive = type.startsWith('System.') || PRIMITIVES.has(type.toLowerCase());
      if (i < steps.length - 1 && primitive) return null;
      plan.push(chosen ? { key, chosen } : { key });
      context = complex ? path : type;
    }
    plans.push(plan);
  }
  const single = plans.length === 1;
  const only = plans[0] as Access[];
  if (single && only.length === 1) {
    // One member, a choice element or not (recordedDate, effective.ofType(dateTime)), read once per
    // candidate resource: no intermediate arrays. A choice is decided as in the general walk below.
    const { key, chosen } = only[0] as Access;
    return {
      all: (resource) => (chosen && !chosen(resource) ? NONE : valuesOf(resource[key])),
      first: (resource) => (chosen && !chosen(resource) ? undefined : firstOf(resource[key])),
    };
  }
  const all: Walk = (resource) => {
    const out: unknown[] = [];
    for (const plan of plans) {
      let nodes: unknown[] = [resource];
      for (const { key, chosen } of plan) {
        const next: unknown[] = [];
        for (const n of nodes) {
          if (typeof n !== 'object' || n === null || Array.isArray(n)) continue;
          const obj = n as Record<string, unknown>;
          if (chosen && !chosen(obj)) continue;
          push(next, obj[key]);
        }
        nodes = next;
        if (nodes.length === 0) break;
      }
      if (single) return nodes.length ? nodes : NONE;
      for (const n of nodes) out.push(n);
    }
    return distinct(out);
  };
  return { all, first: (resource) => all(resource)[0] };
}

const NONE: unknown[] = [];

/** `first`: the element's names in the model's order; a type is present by its value or its `_` sibling. */
function choiceTest(first: string[], wanted: string): ChoiceTest {
  const underscored = first.map((k) => `_${k}`);
  return (obj) => {
    for (let i = 0; i < first.length; i++) {
      const k = first[i] as string;
      if (obj[k] !== undefined || obj[underscored[i] as string] !== undefined) return k === wanted;
    }
    return false;
  };
}

/** What `push` would add, as a result of its own. */
function valuesOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return NONE;
  if (!Array.isArray(value)) return [value];
  const out: unknown[] = [];
  push(out, value);
  return out;
}

/** The first element `push` would add. */
function firstOf(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return value;
  for (const v of value) if (v !== undefined && v !== null) return v;
  return undefined;
}

/** Like the engine, a wrongly typed value is still returned; the caller's checks deal with it. */
function push(into: unknown[], value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== undefined && v !== null) into.push(v);
    return;
  }
  into.push(value);
}

/**
 * FHIRPath union removes duplicates. Equal values serialise equally; serialising every value was the
 * cost, so a value is serialised only when an earlier one may equal it (the same type and, for a
 * coding-like object, the same code).
 */
function distinct(values: unknown[]): unknown[] {
  if (values.length < 2) return values;
  if (values.length > 16) return distinctByKey(values);
  const out: unknown[] = [];
  const keys: (string | undefined)[] = [];
  for (const v of values) {
    let key: string | undefined;
    let duplicate = false;
    for (let j = 0; j < out.length && !duplicate; j++) {
      const w = out[j];
      if (w === v) duplicate = true;
      else if (mayEqual(v, w)) {
        key ??= keyOf(v);
        duplicate = key === (keys[j] ??= keyOf(w));
      }
    }
    if (duplicate) continue;
    out.push(v);
    keys.push(key);
  }
  return out;
}

function mayEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return true;
  const ca = (a as Record<string, unknown>).code;
  const cb = (b as Record<string, unknown>).code;
  return typeof ca !== 'string' || typeof cb !== 'string' || ca === cb;
}

function keyOf(v: unknown): string {
  return typeof v === 'object' ? JSON.stringify(v) : `${typeof v}:${String(v)}`;
}

function distinctByKey(values: unknown[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const v of values) {
    const k = keyOf(v);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(v);
  }
  return out;
}
