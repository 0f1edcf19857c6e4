import { randomUUID } from 'node:crypto';
import { renderCards, type RenderContext } from '../src/cards/render.js';
import type { Recommendation } from '../src/cards/recommendation.js';
import type { CdsResponse } from '../src/cards/types.js';
import type { Evidence } from '../src/findings/types.js';
import { evaluateRules } from './rules/evaluate.js';
import { loadRuleKnowledge, type RuleKnowledge } from './rules/knowledge.js';
import { SOURCES } from './rules/topics.js';
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
    sources: SOURCES,
    patientReference: `Patient/${patientId || 'unknown'}`,
  };
  if (input?.now instanceof Date && Number.isFinite(input.now.getTime())) ctx.authoredOn = input.now.toISOString();
  const gaps = isRecord(input?.record) && Array.isArray(input.record.gaps) ? input.record.gaps : [];
  ctx.recordGaps = gaps.flatMap((g: unknown) =>
    isRecord(g) && typeof g.key === 'string' ? [{ key: g.key, reason: typeof g.reason === 'string' ? g.reason : 'unavailable', ...(g.bounded === true ? { bounded: true } : {}) }] : [],
  );
  return ctx;
}

function chartedOf(raw: unknown): Evidence['charted'] | undefined {
  if (!isRecord(raw) || !isRecord(raw.charted)) return undefined;
  const { value, unit } = raw.charted;
  return typeof value === 'number' && Number.isFinite(value) && typeof unit === 'string' && unit.trim() ? { value, unit: unit.trim() } : undefined;
}

/**
 * The rules see normalised values only (facts keep the fields they judge on); the card shows each
 * result as it was charted. The findings engine's evidence carries that, and is matched back here
 * by resource, date and normalised value.
 */
function withChartedValues(recs: Recommendation[], input: RuleInput): Recommendation[] {
  const findings = isRecord(input.findings) && isRecord(input.findings.findings) ? input.findings.findings : {};
  return recs.map((rec) => ({
    ...rec,
    fired: rec.fired.map((f) => {
      const found = (findings as Record<string, unknown>)[f.id];
      const raw = isRecord(found) && Array.isArray(found.evidence) ? (found.evidence as unknown[]) : [];
      return {
        ...f,
        evidence: f.evidence.map((e) => {
          if (!e.value) return e;
          const match = raw.find((r) => isRecord(r) && r.reference === e.reference && r.date === e.date && isRecord(r.value) && r.value.value === e.value?.value);
          const charted = chartedOf(match);
          return charted ? { ...e, charted } : e;
        }),
      };
    }),
  }));
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
        const recommendations = withChartedValues(evaluateRules(input, settings, knowledge), input);
        return { cards: renderCards(recommendations, renderContext(input, knowledge)) };
      } catch {
        return failureResponse(knowledge);
      }
    },
  };
}
