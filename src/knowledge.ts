import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateFindings, loadMappings, type MappingSet } from './findings/index.js';
import type { FindingsResult } from './findings/types.js';
import type { ClinicalContent } from './protocol/cds-service.js';
import type { PatientRecord } from './record.js';
import type { Advisor } from './rules/advisor.js';

/** The clinical knowledge the service needs before it may answer: mappings and the rule table's data. */
export interface Knowledge {
  mappings: MappingSet;
  advisor: Advisor;
  evaluate(record: PatientRecord, now: Date): FindingsResult;
}

/** mappings/ beside src/ in the repository, and beside dist/src/ once built. */
export function defaultMappingsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${path.sep}dist${path.sep}`) ? ['..', '..'] : ['..'];
  return path.resolve(here, ...up, 'mappings');
}

export async function loadKnowledge(mappingsDir: string, content: ClinicalContent, settings: unknown): Promise<Knowledge> {
  const [mappings, advisor] = await Promise.all([loadMappings(mappingsDir), content.createAdvisor({ mappingsDir, settings })]);
  return { mappings, advisor, evaluate: (record, now) => evaluateFindings(mappings, record, now) };
}

/** Holds the knowledge once loaded; /readyz and the service route consult it. */
export class KnowledgeHolder {
  private knowledge: Knowledge | undefined;

  constructor(private readonly loader: () => Promise<Knowledge>) {}

  get current(): Knowledge | undefined {
    return this.knowledge;
  }

  async load(): Promise<Knowledge> {
    this.knowledge = await this.loader();
    return this.knowledge;
  }
}
