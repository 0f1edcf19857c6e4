import type { Bundle, FhirResource } from 'fhir/r4';
import type { CdsServiceDefinition, HookContext, RuleInput } from '../../hooks/types.js';
import type { CdsResponse } from '../cards/types.js';
import type { Config } from '../config.js';
import { isFhirServerAllowed } from '../data/allowlist.js';
import { PreconditionFailed, resolvePatientRecord, type ResolveOptions } from '../data/resolve.js';
import { HttpProblem } from '../http/problem.js';
import type { Knowledge } from '../knowledge.js';
import { ContextSchemas, HookRequestSchema, type HookRequest } from './schemas.js';
import { parseOr400 } from './validation.js';

export interface ServiceCallResult {
  request: HookRequest;
  response: CdsResponse;
  dataSources: Record<string, string>;
}

/** Validates the envelope and the hook's context; throws 400 problems. */
export function validateHookRequest(service: CdsServiceDefinition, body: unknown): { request: HookRequest; context: HookContext } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpProblem(400, 'Request body must be a JSON object (a CDS Hooks request)');
  }
  const request = parseOr400(HookRequestSchema, body, '', 'CDS Hooks request');
  if (request.hook !== service.hook) {
    throw new HttpProblem(400, `Service ${service.id} handles hook "${service.hook}", not "${request.hook}"`);
  }
  const context = parseOr400(ContextSchemas[service.hook], request.context, 'context', `${service.hook} context`) as HookContext;
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
  observe: Pick<ResolveOptions, 'onFhirFetch'> = {},
): Promise<ServiceCallResult> {
  const { request, context } = validateHookRequest(service, body);
  const policy = { production: config.production, allowlist: config.fhirServerAllowlist };
  if (request.fhirServer && !isFhirServerAllowed(request.fhirServer, policy)) {
    throw new HttpProblem(403, 'fhirServer is not on this service\'s allowlist (FHIR_SERVER_ALLOWLIST)');
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
      { policy, deadlineMs: config.fhirDeadlineMs, maxConcurrency: config.fhirMaxConcurrency, maxPages: config.fhirMaxPages, ...observe },
    );
  } catch (err) {
    if (err instanceof PreconditionFailed) {
      throw new HttpProblem(
        412,
        err.message,
        err.missing.map((m) => ({
          severity: 'error',
          code: 'incomplete',
          diagnostics: `prefetch "${m.key}": ${m.reason}`,
          expression: [`prefetch.${m.key}`],
        })),
      );
    }
    throw err;
  }

  const allDraftOrders = draftOrderResources(context.draftOrders);
  const input: RuleInput = {
    service,
    context,
    ordersUnderReview: ordersUnderReview(service, context, allDraftOrders),
    allDraftOrders,
    record: resolution.record,
    findings: knowledge.evaluate(resolution.record, now),
    now,
  };
  return { request, response: knowledge.advisor.advise(input), dataSources: resolution.sources };
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
