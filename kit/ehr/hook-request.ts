import { randomUUID } from 'node:crypto';
import type { Bundle, Resource } from 'fhir/r4';
import type { HookName } from '../../src/protocol/cds-service.js';
import type { DemoOrderKey } from '../demo-patients/index.js';
import { trimSlash } from '../fhir/client.js';
import { draftServiceRequest } from './draft-orders.js';
import { executePrefetch } from './prefetch.js';
import type { Signer } from './signer.js';

/**
 * A mock EHR for the CDS Hooks 2.0 client side: discovery, the hook request (Hook Library 1.0.1
 * contexts), prefetch from a FHIR server, and the call. Used by `npm run fire` and the e2e test.
 */

export type Hook = HookName;

export interface DiscoveredService {
  id: string;
  hook: string;
  title?: string;
  description?: string;
  prefetch?: Record<string, string>;
}

export const DEFAULT_USER_ID = 'Practitioner/spine-demo-clinician';

export class EhrError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: string,
  ) {
    super(message);
    this.name = 'EhrError';
  }
}

/** With a signer, every call carries a fresh JWT for its URL, as an EHR's would (CDS_AUTH=required). */
export async function discoverServices(serviceBase: string, signer?: Signer): Promise<DiscoveredService[]> {
  const url = `${trimSlash(serviceBase)}/cds-services`;
  const { status, text } = await httpCall('GET', url, undefined, signer);
  if (status !== 200) throw new EhrError(`GET ${url} answered ${status}`, status, text);
  const body = parseJson(text) as { services?: DiscoveredService[] } | undefined;
  if (!Array.isArray(body?.services)) throw new EhrError(`GET ${url} did not answer {"services": [...]}`, status, text);
  return body.services;
}

export function serviceForHook(services: readonly DiscoveredService[], hook: Hook): DiscoveredService {
  const service = services.find((s) => s.hook === hook);
  if (!service) throw new EhrError(`no CDS service for hook ${hook} (discovery lists: ${services.map((s) => `${s.id}/${s.hook}`).join(', ') || 'none'})`);
  return service;
}

export interface HookRequestOptions {
  hook: Hook;
  patientId: string;
  fhirServer: string;
  userId?: string;
  /** Draft order to place for order-select / order-sign. */
  order?: DemoOrderKey;
  /** Bearer token for the FHIR server: used for prefetch and passed on as fhirAuthorization. */
  token?: string;
  now?: Date;
}

export interface HookRequest {
  hook: Hook;
  hookInstance: string;
  fhirServer: string;
  fhirAuthorization?: { access_token: string; token_type: 'Bearer'; expires_in: number; scope: string; subject: string; patient: string };
  context: Record<string, unknown>;
  prefetch?: Record<string, Resource | null>;
}

/** The hook request without prefetch: what the EHR sends when the service must fetch for itself. */
export function buildHookRequest(opts: HookRequestOptions): HookRequest {
  const userId = opts.userId ?? DEFAULT_USER_ID;
  const context: Record<string, unknown> = { userId, patientId: opts.patientId };
  if (opts.hook !== 'patient-view') {
    if (!opts.order) throw new EhrError(`${opts.hook} needs --order (lumbar-mri, cervical-mri or lumbar-xray)`);
    const draft = draftServiceRequest(opts.order, opts.patientId, userId, opts.now);
    const draftOrders: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: draft }] };
    if (opts.hook === 'order-select') context.selections = [`ServiceRequest/${draft.id}`];
    context.draftOrders = draftOrders;
  }
  const request: HookRequest = { hook: opts.hook, hookInstance: randomUUID(), fhirServer: trimSlash(opts.fhirServer), context };
  if (opts.token) {
    request.fhirAuthorization = {
      access_token: opts.token,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'patient/*.read user/*.read',
      subject: 'spine-cds',
      patient: opts.patientId,
    };
  }
  return request;
}

/** Runs the service's prefetch templates against the FHIR server and adds the results. */
export async function withPrefetch(
  request: HookRequest,
  service: DiscoveredService,
  token?: string,
): Promise<{ request: HookRequest; failures: { key: string; reason: string }[] }> {
  const { prefetch, failures } = await executePrefetch(service.prefetch ?? {}, request.fhirServer, request.context, token);
  return { request: { ...request, prefetch }, failures };
}

export interface HookResponse {
  status: number;
  body: unknown;
  text: string;
}

export async function callService(serviceBase: string, serviceId: string, request: HookRequest, signer?: Signer): Promise<HookResponse> {
  const url = `${trimSlash(serviceBase)}/cds-services/${encodeURIComponent(serviceId)}`;
  const { status, text } = await httpCall('POST', url, request, signer);
  return { status, body: parseJson(text), text };
}

async function httpCall(method: string, url: string, body?: unknown, signer?: Signer): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (signer) headers.Authorization = `Bearer ${await signer.tokenFor(url)}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await fetch(url, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new EhrError(`cannot reach CDS service at ${new URL(url).origin}: ${cause}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
