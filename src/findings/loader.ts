import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KnowledgeFileError } from './errors.js';
import { compileExpression, type CompiledExpression } from './fhirpath.js';
import { definitionSchema, type CriterionInput, type DefinitionInput } from './schema.js';
import { FINDING_IDS, type FindingId } from './types.js';
import { isValidUcum } from './units.js';
import { compileValueSets, valueSetSchema, type CompiledValueSet, type ValueSetResource } from './valueset.js';
import { parseFile, validate } from './files.js';

export { defaultMappingsDir, observationCodesInFolder, observationCodesOf } from './files.js';

export interface LoadedDefinition extends DefinitionInput {
  file: string;
}

/** Everything in mappings/valuesets and mappings/findings, validated, compiled and resolved. */
export interface MappingSet {
  /** In dependency order: a derived finding comes after the findings it reads. */
  definitions: LoadedDefinition[];
  /** By ValueSet id and by url. */
  valueSets: ReadonlyMap<string, CompiledValueSet>;
  /** Every FHIRPath expression of the definitions, compiled once, by its source text. */
  expressions: ReadonlyMap<string, CompiledExpression>;
}

export async function loadMappings(mappingsDir: string): Promise<MappingSet> {
  const base = path.basename(path.resolve(mappingsDir));
  const vsFiles = await listFiles(path.join(mappingsDir, 'valuesets'), ['.json'], `${base}/valuesets`);
  const valueSetInputs: { file: string; resource: ValueSetResource }[] = [];
  for (const f of vsFiles) {
    const data = parseFile(f.display, await readFile(f.full, 'utf8'), f.full);
    valueSetInputs.push({ file: f.display, resource: validate(valueSetSchema, data, f.display) });
  }
  const valueSets = compileValueSets(valueSetInputs);

  const defFiles = await listFiles(path.join(mappingsDir, 'findings'), ['.yaml', '.yml', '.json'], `${base}/findings`);
  const definitions: LoadedDefinition[] = [];
  const expressions = new Map<string, CompiledExpression>();
  const seen = new Map<FindingId, string>();
  for (const f of defFiles) {
    const data = parseFile(f.display, await readFile(f.full, 'utf8'), f.full);
    const def = validate(definitionSchema, data, f.display);
    const earlier = seen.get(def.id);
    if (earlier) throw new KnowledgeFileError(f.display, 'id', `finding ${def.id} is already defined in ${earlier}`);
    seen.set(def.id, f.display);
    checkDefinition(def, f.display, valueSets, expressions);
    definitions.push({ ...def, file: f.display });
  }
  for (const id of FINDING_IDS) {
    if (!seen.has(id)) throw new KnowledgeFileError(`${base}/findings`, 'id', `no definition for finding ${id} (docs/clinical-rules.md, Findings)`);
  }
  return { definitions: dependencyOrder(definitions), valueSets, expressions };
}

async function listFiles(dir: string, exts: string[], display: string): Promise<{ full: string; display: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new KnowledgeFileError(display, '(directory)', `cannot read: ${(err as Error).message}`);
  }
  return names
    .filter((n) => exts.includes(path.extname(n)))
    .sort()
    .map((n) => ({ full: path.join(dir, n), display: `${display}/${n}` }));
}

/** Compiles every expression, resolves every value set and checks units, naming the field on failure. */
function checkDefinition(
  def: DefinitionInput,
  file: string,
  valueSets: ReadonlyMap<string, CompiledValueSet>,
  expressions: Map<string, CompiledExpression>,
): void {
  const expr = (source: string | undefined, field: string): void => {
    if (source === undefined || expressions.has(source)) return;
    try {
      expressions.set(source, compileExpression(source));
    } catch (err) {
      throw new KnowledgeFileError(file, field, `FHIRPath does not compile: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  const vs = (ref: string | undefined, field: string): void => {
    if (ref !== undefined && !valueSets.has(ref)) throw new KnowledgeFileError(file, field, `ValueSet "${ref}" is not in mappings/valuesets`);
  };
  const unit = (u: string | undefined, field: string): void => {
    if (u !== undefined && !isValidUcum(u)) throw new KnowledgeFileError(file, field, `"${u}" is not a valid UCUM unit`);
  };
  const reads = new Set<string>(def.reads);
  const read = (type: string, field: string): void => {
    if (!reads.has(type)) throw new KnowledgeFileError(file, field, `${type} is not listed in "reads"`);
  };

  def.criteria.forEach((c: CriterionInput, i) => {
    const at = `criteria[${i}]`;
    switch (c.kind) {
      case 'coded':
      case 'measurement': {
        read(c.resource, `${at}.resource`);
        vs(c.valueSet, `${at}.valueSet`);
        c.date.forEach((d, j) => expr(d, `${at}.date[${j}]`));
        expr(c.laterality?.codings, `${at}.laterality.codings`);
        for (const side of ['left', 'right', 'bilateral'] as const) vs(c.laterality?.[side], `${at}.laterality.${side}`);
        if (c.laterality && !c.laterality.fixed && !c.laterality.codings) {
          throw new KnowledgeFileError(file, `${at}.laterality`, 'give codings (with left/right/bilateral value sets) or fixed');
        }
        c.qualifiersByValueSet?.forEach((q, j) => vs(q.valueSet, `${at}.qualifiersByValueSet[${j}].valueSet`));
        if (c.kind === 'coded') {
          expr(c.requires?.codings, `${at}.requires.codings`);
          vs(c.requires?.valueSet, `${at}.requires.valueSet`);
        } else {
          expr(c.value.expression, `${at}.value.expression`);
          unit(c.value.unit, `${at}.value.unit`);
          unit(c.value.unitWhenAbsent, `${at}.value.unitWhenAbsent`);
          expr(c.interpretation?.codings, `${at}.interpretation.codings`);
          vs(c.interpretation?.valueSet, `${at}.interpretation.valueSet`);
        }
        c.window?.sinceOnsetOf?.forEach((id, j) => {
          if (id === def.id) throw new KnowledgeFileError(file, `${at}.window.sinceOnsetOf[${j}]`, 'a finding cannot depend on itself');
        });
        break;
      }
      case 'age':
        read('Patient', `${at}.resource`);
        expr(c.birthDate, `${at}.birthDate`);
        break;
      case 'weight-change':
        read(c.resource, `${at}.resource`);
        vs(c.valueSet, `${at}.valueSet`);
        c.date.forEach((d, j) => expr(d, `${at}.date[${j}]`));
        expr(c.value.expression, `${at}.value.expression`);
        unit(c.value.unit, `${at}.value.unit`);
        if (c.baselineDays.min >= c.baselineDays.max) throw new KnowledgeFileError(file, `${at}.baselineDays`, 'min must be below max');
        break;
      case 'medication-days':
        vs(c.valueSet, `${at}.valueSet`);
        for (const r of c.resources) {
          read(r, `${at}.resources`);
          const p = c.periods[r];
          if (!p) throw new KnowledgeFileError(file, `${at}.periods.${r}`, `no period rule for ${r}`);
          if (!c.status[r]) throw new KnowledgeFileError(file, `${at}.status.${r}`, `no status rule for ${r}`);
          p.start.forEach((d, j) => expr(d, `${at}.periods.${r}.start[${j}]`));
          p.end?.forEach((d, j) => expr(d, `${at}.periods.${r}.end[${j}]`));
          expr(p.supplyDuration, `${at}.periods.${r}.supplyDuration`);
          expr(p.repeats, `${at}.periods.${r}.repeats`);
        }
        break;
      case 'derived':
        if (c.from === def.id) throw new KnowledgeFileError(file, `${at}.from`, 'a finding cannot derive from itself');
        break;
      case 'exam':
        read(c.resource, `${at}.resource`);
        vs(c.findings, `${at}.findings`);
        vs(c.tests, `${at}.tests`);
        vs(c.grade?.valueSet, `${at}.grade.valueSet`);
        vs(c.positive, `${at}.positive`);
        vs(c.negative, `${at}.negative`);
        vs(c.findingAnswers?.present, `${at}.findingAnswers.present`);
        vs(c.findingAnswers?.absent, `${at}.findingAnswers.absent`);
        c.date.forEach((d, j) => expr(d, `${at}.date[${j}]`));
        expr(c.requires?.codings, `${at}.requires.codings`);
        vs(c.requires?.valueSet, `${at}.requires.valueSet`);
        expr(c.limbBySite?.codings, `${at}.limbBySite.codings`);
        vs(c.limbBySite?.leg, `${at}.limbBySite.leg`);
        vs(c.limbBySite?.arm, `${at}.limbBySite.arm`);
        expr(c.laterality?.codings, `${at}.laterality.codings`);
        for (const side of ['left', 'right', 'bilateral'] as const) vs(c.laterality?.[side], `${at}.laterality.${side}`);
        c.qualifiersByValueSet?.forEach((q, j) => vs(q.valueSet, `${at}.qualifiersByValueSet[${j}].valueSet`));
        break;
    }
  });
}

function dependsOn(def: DefinitionInput): FindingId[] {
  const out: FindingId[] = [];
  for (const c of def.criteria) {
    if (c.kind === 'derived') out.push(c.from);
    if ((c.kind === 'coded' || c.kind === 'measurement') && c.window?.sinceOnsetOf) out.push(...c.window.sinceOnsetOf);
  }
  return out;
}

function dependencyOrder(defs: LoadedDefinition[]): LoadedDefinition[] {
  const byId = new Map(defs.map((d) => [d.id, d]));
  const ordered: LoadedDefinition[] = [];
  const state = new Map<FindingId, 'visiting' | 'done'>();
  const visit = (d: LoadedDefinition, chain: FindingId[]): void => {
    const s = state.get(d.id);
    if (s === 'done') return;
    if (s === 'visiting') throw new KnowledgeFileError(d.file, 'criteria', `circular dependency: ${[...chain, d.id].join(' -> ')}`);
    state.set(d.id, 'visiting');
    for (const dep of dependsOn(d)) {
      const target = byId.get(dep);
      if (target) visit(target, [...chain, d.id]);
    }
    state.set(d.id, 'done');
    ordered.push(d);
  };
  for (const d of defs) visit(d, []);
  return ordered;
}
