import { randomUUID } from 'node:crypto';
import { renderCards, type RenderContext } from '../src/cards/render.js';
import type { CdsResponse } from '../src/cards/types.js';
import { evaluateRules } from './rules/evaluate.js';
import { loadRuleKnowledge, type RuleKnowledge } from './rules/knowledge.js';
import type { RuleSettings } from './settings.js';
import { RuleSettingsSchema } from './settings.js';
import type { Advisor, RuleInput } from './types.js';

export type { Advisor };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function renderContext(input: RuleInput, knowledge: RuleKnowledge): RenderContext {
  const patientId = isRecord(input?.context) && typeof input.context.patientId === 'string' ? input.context.patientId : '';
  const ctx: RenderContext = {
    topicSystem: knowledge.topicSystem,
    topicDisplay: knowledge.topicDisplay,
    patientReference: `Patient/${patientId || 'unknown'}`,
  };
  if (input?.now instanceof Date && Number.isFinite(input.now.getTime())) ctx.authoredOn = input.now.toISOString();
  return ctx;
}

/**
 * A failure inside the rules must not look like "nothing to say": the clinician is told that the
 * check did not run, so red flags are reviewed by hand instead of silently missed.
 */
function failureResponse(knowledge: RuleKnowledge): CdsResponse {
  return {
    cards: [
      {
        uuid: randomUUID(),
        summary: 'Spine CDS could not assess this record; review back-pain red flags manually',
        detail:
          'The decision rules failed on this record, so no red-flag or imaging judgement was made. ' +
          'Check for cauda equina signs, motor deficit, myelopathy, cancer and infection before imaging decisions.',
        indicator: 'info',
        source: {
          label: 'Spine CDS',
          topic: { system: knowledge.topicSystem, code: 'insufficient-data', display: knowledge.topicDisplay['insufficient-data'] },
        },
      },
    ],
  };
}

export async function createAdvisor(opts: { mappingsDir: string; settings: RuleSettings }): Promise<Advisor> {
  const settings = RuleSettingsSchema.parse(opts.settings);
  const knowledge = await loadRuleKnowledge(opts.mappingsDir);
  return {
    advise(input: RuleInput): CdsResponse {
      try {
        if (!isRecord(input)) return failureResponse(knowledge);
        const recommendations = evaluateRules(input, settings, knowledge);
        return { cards: renderCards(recommendations, renderContext(input, knowledge)) };
      } catch {
        return failureResponse(knowledge);
      }
    },
  };
}
