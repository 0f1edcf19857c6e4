import { createAdvisor, type Advisor } from '../hooks/advise.js';
import type { RuleSettings } from '../hooks/settings.js';
import { evaluateFindings, loadMappings, type MappingSet } from './findings/index.js';
import type { FindingsResult } from './findings/types.js';
import type { PatientRecord } from './record.js';

/** The clinical knowledge the service needs before it may answer: mappings and the rule table's data. */
export interface Knowledge {
  mappings: MappingSet;
  advisor: Advisor;
  evaluate(record: PatientRecord, now: Date): FindingsResult;
}

/** mappings/ at the repository root (and beside dist/ once built); kept here for its callers. */
export { defaultMappingsDir } from './findings/index.js';

export async function loadKnowledge(mappingsDir: string, settings: RuleSettings): Promise<Knowledge> {
  const [mappings, advisor] = await Promise.all([loadMappings(mappingsDir), createAdvisor({ mappingsDir, settings })]);
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
