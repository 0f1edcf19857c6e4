import type { Bundle, FhirResource, OperationOutcomeIssue } from 'fhir/r4';
import type { FastifyBaseLogger } from 'fastify';
import type { RuleInput } from '../rules/advisor.js';
import type { CdsServiceDefinition, HookContext } from './cds-service.js';
import type { CdsResponse } from '../cards/types.js';
import type { Config } from '../config/config.js';
import { isFhirServerAllowed } from '../data/allowlist.js';
import { boundDraftOrders, boundResources } from '../data/limits.js';
import { CallDeadline, DeadlinePassed, PreconditionFailed, resolvePatientRecord, type ResolveOptions } from '../data/resolve.js';
import { incompleteEvaluationCard } from '../cards/incomplete.js';
import type { Knowledge } from '../knowledge/knowledge.js';
import { ContextSchemas, HookRequestSchema, type HookRequest } from './schemas.js';
import { DeadlineExceeded, FhirServerNotAllowed, InvalidHookRequest, RequiredDataUnavailable } from './errors.js';
import { parseOrThrow } from './validation.js';

export interface ServiceCallResult {
  request: HookRequest;
  response: CdsResponse;
  dataSources: Record<string, string>;
}

/** Validates the envelope and the hook's context; throws InvalidHookRequest. */
export function validateHookRequest(service: CdsServiceDefinition, body: unknown): { request: HookRequest; context: HookContext } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidHookRequest('Request body must be a JSON object (a CDS Hooks request)');
  }
  const request = parseOrThrow(HookRequestSchema, body, '', 'CDS Hooks request', invalidRequest);
  if (request.hook !== service.hook) {
    throw new InvalidHookRequest(`Service ${service.id} handles hook "${service.hook}", not "${request.hook}"`);
  }
  const context = parseOrThrow(ContextSchemas[service.hook], request.context, 'context', `${service.hook} context`, invalidRequest) as HookContext;
  return { request, context };
}

/**
 * request → resolve data → findings → recommendations/cards. Authentication happens before this
 * (an onRequest hook); card storage after it (the route), so this stays free of HTTP concerns.
 */
export async function callService(
  service: CdsServiceDefinition,
  body: unknown,
  knowledge: Knowledge,
  config: Config,
  now: Date,
  log?: FastifyBaseLogger,
  observe: Pick<ResolveOptions, 'onFhirFetch'> = {},
): Promise<ServiceCallResult> {
  // One deadline for the whole call: fetching, parsing and evaluating (issue 14).
  const deadline = new CallDeadline(config.fhirDeadlineMs);
  const { request, context } = validateHookRequest(service, body);
  const policy = { production: config.production, allowlist: config.fhirServerAllowlist };
  if (request.fhirServer && !isFhirServerAllowed(request.fhirServer, policy)) {
    throw new FhirServerNotAllowed();
  }

  let resolution;
  try {
    resolution = await resolvePatientRecord(
      {
        templates: service.prefetch,
        context,
        prefetch: request.prefetch,
        fhirServer: request.fhirServer,
        accessToken: request.fhirAuthorization?.access_token,
      },
      { policy, deadline, maxConcurrency: config.fhirMaxConcurrency, maxPages: config.fhirMaxPages, limits: config.limits, ...observe },
    );
  } catch (err) {
    if (err instanceof PreconditionFailed) {
      // The detailed reasons stay here; the caller's text may be generic (see resolve.ts).
      log?.warn({ missing: err.missing.map(({ key, detail, bytesRead }) => ({ key, reason: detail, ...(bytesRead !== undefined ? { bytesRead } : {}) })) }, 'required data unavailable');
      throw new RequiredDataUnavailable(
        err.message,
        err.missing.map((m) => m.key),
        err.missing.map((m) => ({
          severity: 'error',
          code: 'incomplete',
          diagnostics: `prefetch "${m.key}": ${m.reason}`,
          expression: [`prefetch.${m.key}`],
        })),
      );
    }
    throw deadlineProblem(err);
  }
  if (resolution.failures.length > 0) {
    log?.warn({ unavailable: resolution.failures.map(({ key, detail }) => ({ key, reason: detail })) }, 'optional data unavailable');
  }
  // Evaluating after the deadline would answer after the EHR stopped waiting, and hold the loop for nothing.
  if (deadline.passed) throw deadlineProblem(new DeadlinePassed(deadline.ms, 'evaluating the findings'));

  const drafts = boundDraftOrders(draftOrderResources(context.draftOrders), config.limits);
  if (drafts.gap) resolution.record.gaps.push(drafts.gap);
  // Draft orders come from the request body: the same per-element bounds as the record.
  for (const gap of boundResources(drafts.orders, config.limits).gaps) resolution.record.gaps.push({ ...gap, key: `draftOrders ${gap.key}` });
  const allDraftOrders = drafts.orders;
  const findings = knowledge.evaluate(resolution.record, now);
  if (deadline.passed) throw deadlineProblem(new DeadlinePassed(deadline.ms, 'applying the rules'));
  const input: RuleInput = {
    service,
    context,
    ordersUnderReview: ordersUnderReview(service, context, allDraftOrders),
    allDraftOrders,
    record: resolution.record,
    findings,
    now,
  };
  const response = knowledge.advisor.advise(input);
  const failed = findings.failed ?? [];
  const bounded = resolution.record.gaps.filter((g) => g.bounded);
  if (failed.length > 0) {
    // Never a silent answer: the card names what could not be evaluated, and the log has why.
    log?.error({ failedFindings: failed.map((f) => ({ finding: f.findingId, error: f.message })) }, 'findings failed to evaluate');
    response.cards.push(incompleteEvaluationCard(failed, bounded));
  } else if (bounded.length > 0 && response.cards.length === 0) {
    // The other cards list the gaps themselves; with none, "no card" would hide the truncation.
    response.cards.push(incompleteEvaluationCard([], bounded));
  }
  if (bounded.length > 0) log?.warn({ bounded: bounded.map((g) => g.key) }, 'work bounds left data out');
  return { request, response, dataSources: resolution.sources };
}

const invalidRequest = (message: string, issues: OperationOutcomeIssue[]): Error => new InvalidHookRequest(message, issues);

/** The data stage's DeadlinePassed (which names the stage, for the log) is the protocol's DeadlineExceeded. */
function deadlineProblem(err: unknown): unknown {
  return err instanceof DeadlinePassed ? new DeadlineExceeded(err.message) : err;
}

function draftOrderResources(bundle: Bundle | undefined): FhirResource[] {
  if (!bundle || !Array.isArray(bundle.entry)) return [];
  return bundle.entry.flatMap((e) => (e.resource && typeof e.resource.resourceType === 'string' ? [e.resource] : []));
}

/** order-select advises on the selections only; order-sign on every draft order (Hook Library 1.0.1). */
function ordersUnderReview(service: CdsServiceDefinition, context: HookContext, drafts: FhirResource[]): FhirResource[] {
  switch (service.advisesOn) {
    case 'nothing':
      return [];
    case 'all-draft-orders':
      return drafts;
    case 'selections': {
      const selected = new Set(context.selections ?? []);
      // A selection that is not in draftOrders cannot be judged; it is skipped rather than failing the call.
      return drafts.filter((r) => r.id !== undefined && selected.has(`${r.resourceType}/${r.id}`));
    }
  }
}
