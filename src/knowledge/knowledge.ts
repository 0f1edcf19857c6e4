import { evaluateFindings, loadMappings, type MappingSet } from '../findings/index.js';
import { observationCodesOf } from '../findings/files.js';
import { KnowledgeFileError } from './knowledge-file-error.js';
import type { FindingsResult } from '../findings/types.js';
import type { ClinicalContent } from '../protocol/cds-service.js';
import type { PatientRecord } from '../data/record.js';
import type { Advisor } from '../rules/advisor.js';
import { warmUp } from './warm-up.js';

/** A code an Observation finding reads, with the value set that lists it. */
type ObservationCode = ReturnType<typeof observationCodesOf>[number];

/** The clinical knowledge the service needs before it may answer: mappings and the rule table's data. */
export interface Knowledge {
  mappings: MappingSet;
  advisor: Advisor;
  evaluate(record: PatientRecord, now: Date): FindingsResult;
}

/** mappings/ at the repository root (and beside dist/ once built); kept here for its callers. */
export { defaultMappingsDir } from '../findings/index.js';

export async function loadKnowledge(mappingsDir: string, content: ClinicalContent, settings: unknown): Promise<Knowledge> {
  const [mappings, advisor] = await Promise.all([loadMappings(mappingsDir), content.createAdvisor({ mappingsDir, settings })]);
  const observationCodes = observationCodesOf(mappings.definitions, mappings.valueSets);
  checkObservationPrefetch(observationCodes, content);
  const knowledge: Knowledge = { mappings, advisor, evaluate: (record, now) => evaluateFindings(mappings, record, now) };
  warmUp(knowledge, content, observationCodes);
  return knowledge;
}

/**
 * The Observation prefetch is derived from the shipped mappings when hooks/prefetch.ts is imported.
 * Checked against the services' own prefetch templates (the engine does not import hooks/).
 * Knowledge loaded from elsewhere (MAPPINGS_DIR) whose findings read a LOINC code the search does not
 * ask for would find that Observation neither prefetched nor fetched, and the finding would read as
 * not recorded: refuse to start instead.
 */
function checkObservationPrefetch(observationCodes: ObservationCode[], content: ClinicalContent): void {
  const asked = new Set(content.services.flatMap((s) => s.prefetch.flatMap((t) => loincCodesAskedBy(t.query))));
  const missing = observationCodes.find((c) => c.system === 'http://loinc.org' && !asked.has(c.code));
  if (missing) {
    throw new KnowledgeFileError(
      missing.valueSet,
      'compose.include',
      `LOINC ${missing.code} is read by an Observation finding, but the prefetch template (derived from the mappings shipped with this build) does not ask for it; rebuild with these mappings`,
    );
  }
}

/** The LOINC codes an `Observation?...&code=http://loinc.org|a,http://loinc.org|b` search asks for. */
function loincCodesAskedBy(query: string): string[] {
  if (!query.startsWith('Observation?')) return [];
  const codeParam = new URLSearchParams(query.slice('Observation?'.length)).get('code');
  if (!codeParam) return [];
  return codeParam.split(',').filter((c) => c.startsWith('http://loinc.org|')).map((c) => c.slice('http://loinc.org|'.length));
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
