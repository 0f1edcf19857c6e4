import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { KnowledgeFileError } from './errors.js';
import { fieldPath } from '../knowledge/knowledge-file-error.js';
import { definitionSchema, type DefinitionInput } from './schema.js';
import { compileValueSets, valueSetSchema, type CompiledValueSet } from './valueset.js';

/**
 * Reading the mappings files: parsing and schema checks that fail with a KnowledgeFileError, and what
 * can be read from the files without the evaluation engine (FHIRPath, UCUM), so that hooks/prefetch.ts
 * can derive its Observation codes when it is imported without loading the engine.
 */

/** mappings/ at the repository root: two folders above this file, three once built into dist/. */
export function defaultMappingsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${path.sep}dist${path.sep}`) ? ['..', '..', '..'] : ['..', '..'];
  return path.resolve(here, ...up, 'mappings');
}

export function parseFile(display: string, text: string, full: string): unknown {
  try {
    return full.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new KnowledgeFileError(display, '(file)', `not valid ${full.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function validate<S extends z.ZodType>(schema: S, data: unknown, file: string): z.infer<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new KnowledgeFileError(file, issue ? fieldPath(issue.path) : '(root)', issue?.message ?? 'invalid');
}


/**
 * The codes of the Observations the findings read by code (measurements, weight change, coded
 * Observations such as smoking status), from the value sets those criteria name. Exam findings are
 * read by category, not by code, so they are not here.
 */
export function observationCodesOf(
  definitions: readonly DefinitionInput[],
  valueSets: ReadonlyMap<string, CompiledValueSet>,
): { system: string; code: string; valueSet: string }[] {
  const refs = new Set<string>();
  for (const def of definitions) {
    for (const c of def.criteria) {
      if ((c.kind === 'measurement' || c.kind === 'weight-change' || c.kind === 'coded') && c.resource === 'Observation') refs.add(c.valueSet);
    }
  }
  const out = new Map<string, { system: string; code: string; valueSet: string }>();
  for (const ref of [...refs].sort()) {
    const vs = valueSets.get(ref);
    for (const { system, code } of vs?.enumerated() ?? []) {
      if (!out.has(`${system}|${code}`)) out.set(`${system}|${code}`, { system, code, valueSet: vs?.file ?? ref });
    }
  }
  return [...out.values()];
}

/**
 * observationCodesOf for the mappings in a folder, read synchronously and without compiling FHIRPath:
 * the prefetch template is a module constant (hooks/prefetch.ts) and is derived from these files when
 * it is first imported. The files are validated with the loader's own schemas, so a broken file fails
 * here with the same KnowledgeFileError as at startup.
 */
export function observationCodesInFolder(mappingsDir: string): { system: string; code: string; valueSet: string }[] {
  const base = path.basename(path.resolve(mappingsDir));
  const read = (folder: string, exts: string[]): { display: string; data: unknown }[] => {
    let names: string[];
    try {
      names = readdirSync(path.join(mappingsDir, folder));
    } catch (err) {
      throw new KnowledgeFileError(`${base}/${folder}`, '(directory)', `cannot read: ${(err as Error).message}`);
    }
    return names
      .filter((n) => exts.includes(path.extname(n)))
      .sort()
      .map((n) => {
        const full = path.join(mappingsDir, folder, n);
        const display = `${base}/${folder}/${n}`;
        return { display, data: parseFile(display, readFileSync(full, 'utf8'), full) };
      });
  };
  const valueSets = compileValueSets(read('valuesets', ['.json']).map((f) => ({ file: f.display, resource: validate(valueSetSchema, f.data, f.display) })));
  const definitions = read('findings', ['.yaml', '.yml', '.json']).map((f) => validate(definitionSchema, f.data, f.display));
  return observationCodesOf(definitions, valueSets);
}
