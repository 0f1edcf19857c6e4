import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getResourceTypes, getStatus, isOk, isResourceType, normalizeOperationOutcome } from '@medplum/core';
import { FhirRouter, type FhirRequest, type FhirResponse, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from 'fhir/r4';
import { capabilityStatement } from './capability.js';
import { loadFhirDefinitions } from './definitions.js';
import { pageRequest, withPagingLinks } from './paging.js';
import { SnapshotMemoryRepository } from './repository.js';

/**
 * A real FHIR R4 server on loopback for tests and the local sandbox: @medplum/fhir-router's REST
 * engine over an in-memory repository, behind node:http. The wrapper adds what medplum lacks and
 * real sandboxes have (HAPI, the SMART sandbox): `GET /metadata`, search paging links,
 * CORS for browser clients, and an optional bearer token so clients' Authorization can be tested.
 */

export const FHIR_BASE_PATH = '/fhir';

export interface FhirServerOptions {
  /** When set, every request except `GET /metadata` and CORS preflight needs `Authorization: Bearer <token>`. */
  requireToken?: string;
  /** Page size when a search has no `_count` (HAPI's default is 20). */
  defaultPageSize?: number;
  /** Largest accepted request body; Synthea transaction bundles run to a few MB. */
  maxBodyBytes?: number;
  /** One call per request, for a request log. */
  onRequest?: (entry: { method: string; url: string; status: number; ms: number }) => void;
}

const DEFAULT_PAGE_SIZE = 20;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
const ALLOWED_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const JSON_CONTENT_TYPES = ['application/json', 'application/fhir+json', 'application/json-patch+json'];
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issueCode: string,
  ) {
    super(message);
  }
}

export function createFhirServer(options: FhirServerOptions = {}): Server {
  loadFhirDefinitions();
  const repo = new SnapshotMemoryRepository();
  const router = new FhirRouter();
  const metadata = capabilityStatement(getResourceTypes(), options.requireToken !== undefined);
  const defaultPageSize = options.defaultPageSize ?? DEFAULT_PAGE_SIZE;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  let writes: Promise<unknown> = Promise.resolve();
  function serialWrite<T>(task: () => Promise<T>): Promise<T> {
    const run = writes.then(task, task);
    writes = run.catch(() => undefined);
    return run;
  }

  /**
   * A transaction, all or nothing: medplum processes the entries (in its batch mode, which has no
   * 50-update limit), and if any entry failed the store is restored and the failure is the answer.
   */
  async function runTransaction(request: FhirRequest): Promise<FhirResponse> {
    try {
      return await repo.atomically(async () => {
        const response = await router.handleRequest(request, repo);
        const failure = transactionFailure(request.body as Bundle, response);
        if (failure) throw new TransactionRolledBack(failure);
        return response;
      });
    } catch (err) {
      if (err instanceof TransactionRolledBack) return [err.outcome as FhirResponse[0]];
      throw err;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    setCorsHeaders(req, res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return 204;
    }
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname !== FHIR_BASE_PATH && !url.pathname.startsWith(`${FHIR_BASE_PATH}/`)) {
      throw new HttpError(404, `Not found: ${url.pathname} (the FHIR base is ${FHIR_BASE_PATH})`, 'not-found');
    }
    let path = url.pathname.slice(FHIR_BASE_PATH.length).replace(/^\/+|\/+$/g, '');
    let method = (req.method ?? 'GET').toUpperCase() as HttpMethod;
    if (!ALLOWED_METHODS.includes(method)) throw new HttpError(405, `Method ${method} not allowed`, 'not-supported');

    if (path === 'metadata' && method === 'GET') return send(res, 200, metadata);
    if (options.requireToken !== undefined) checkBearer(req, options.requireToken, res);

    // FHIR R4 §3.1.0.8.1: POST [type]/_search with form-encoded parameters is the same search as a
    // GET (the CDS Hooks Sandbox tries it first for every prefetch). Body and URL parameters combine.
    const searchType = method === 'POST' ? /^([A-Za-z]+)\/_search$/.exec(path)?.[1] : undefined;
    if (searchType !== undefined && isResourceType(searchType)) {
      for (const [name, value] of await readFormBody(req, maxBodyBytes)) url.searchParams.append(name, value);
      path = searchType;
      method = 'GET';
    }

    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readJsonBody(req, maxBodyBytes) : undefined;
    const baseUrl = `http://${req.headers.host ?? 'localhost'}${FHIR_BASE_PATH}`;

    const isTypeSearch = method === 'GET' && isResourceType(path);
    const page = isTypeSearch ? pageRequest(url.searchParams, defaultPageSize) : undefined;
    const query = (page?.query ?? url.searchParams).toString();
    const fhirRequest: FhirRequest = {
      method,
      url: query ? `${path}?${query}` : path,
      pathname: '',
      body,
      params: {},
      query: {},
      headers: req.headers,
    };
    // Writes run one at a time, so a transaction's rollback can never undo someone else's write.
    const [outcome, resource] =
      method === 'GET'
        ? await router.handleRequest(fhirRequest, repo)
        : await serialWrite(() => (isTransactionBundle(body) ? runTransaction(fhirRequest) : router.handleRequest(fhirRequest, repo)));
    const status = getStatus(outcome);
    if (!resource) return send(res, status, outcome as OperationOutcome);

    let answer = resource as Resource;
    if (page && answer.resourceType === 'Bundle') {
      answer = withPagingLinks(withFullUrls(answer as Bundle, baseUrl), `${baseUrl}/${path}`, page);
    }
    const meta = answer.meta;
    if (meta?.versionId) res.setHeader('ETag', `W/"${meta.versionId}"`);
    if (meta?.lastUpdated) res.setHeader('Last-Modified', new Date(meta.lastUpdated).toUTCString());
    if (status === 201 && answer.id) {
      res.setHeader('Location', `${baseUrl}/${answer.resourceType}/${answer.id}/_history/${meta?.versionId ?? ''}`);
    }
    return send(res, status, answer);
  }

  return createServer((req, res) => {
    const started = performance.now();
    handle(req, res)
      .catch((err: unknown) => {
        if (res.headersSent) return 500;
        if (err instanceof HttpError) return send(res, err.status, operationOutcome(err.issueCode, err.message));
        const outcome = normalizeOperationOutcome(err) as OperationOutcome;
        return send(res, 500, outcome);
      })
      .then((status) => {
        options.onRequest?.({ method: req.method ?? '', url: req.url ?? '', status, ms: Math.round(performance.now() - started) });
      })
      .catch(() => res.destroy());
  });
}

/** Listens and resolves with the absolute FHIR base URL, e.g. `http://127.0.0.1:41234/fhir`. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${hostPart}:${address.port}${FHIR_BASE_PATH}`;
}

function setCorsHeaders(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  res.setHeader('Access-Control-Allow-Origin', origin ?? '*');
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
  res.setHeader(
    'Access-Control-Allow-Headers',
    req.headers['access-control-request-headers'] ?? 'Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Exist',
  );
  res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Last-Modified, Content-Location');
  res.setHeader('Access-Control-Max-Age', '600');
}

function checkBearer(req: IncomingMessage, token: string, res: ServerResponse): void {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (match?.[1] !== token) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="spine-cds-test-fhir"');
    throw new HttpError(401, header ? 'Invalid bearer token' : 'Missing Authorization: Bearer token', 'login');
  }
}

async function readFormBody(req: IncomingMessage, maxBytes: number): Promise<URLSearchParams> {
  const contentType = mediaType(req);
  const text = (await readBody(req, maxBytes)).toString('utf8');
  if (text.trim() === '') return new URLSearchParams();
  if (contentType !== 'application/x-www-form-urlencoded') {
    throw new HttpError(415, `POST _search takes application/x-www-form-urlencoded parameters, not "${contentType}"`, 'not-supported');
  }
  return new URLSearchParams(text);
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `Request body over ${maxBytes} bytes`, 'too-costly');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const contentType = mediaType(req);
  if (!JSON_CONTENT_TYPES.includes(contentType)) {
    throw new HttpError(415, `Unsupported Content-Type "${contentType}"; use application/fhir+json or application/json`, 'not-supported');
  }
  const body = await readBody(req, maxBytes);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON', 'structure');
  }
}

class TransactionRolledBack extends Error {
  constructor(readonly outcome: OperationOutcome) {
    super('transaction rolled back');
  }
}

function isTransactionBundle(body: unknown): boolean {
  const bundle = body as Bundle | undefined;
  return bundle?.resourceType === 'Bundle' && bundle.type === 'transaction';
}

/** Why a transaction must fail: the router's own error, or the first entry that did not succeed. */
function transactionFailure(request: Bundle, [outcome, result]: FhirResponse): OperationOutcome | undefined {
  if (!isOk(outcome)) return outcome as OperationOutcome;
  const entries = (result as Bundle | undefined)?.entry ?? [];
  const index = entries.findIndex((e) => !/^2\d\d/.test(e.response?.status ?? ''));
  if (index < 0) return undefined;
  const failed = entries[index];
  const target = request.entry?.[index]?.request;
  const cause = failed?.response?.outcome as OperationOutcome | undefined;
  const detail = cause?.issue?.map((i) => i.diagnostics ?? i.details?.text).filter(Boolean).join('; ');
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        // One error for the whole transaction (R4 http.html#transaction): 400, whatever the entry's status.
        code: 'processing',
        diagnostics: `Transaction rolled back: Bundle.entry[${index}] (${target?.method ?? '?'} ${target?.url ?? '?'}) failed with ${failed?.response?.status ?? 'no status'}${detail ? `: ${detail}` : ''}`,
      },
    ],
  };
}

/** Real servers give every search entry an absolute fullUrl; medplum's router does not. */
function withFullUrls(bundle: Bundle, baseUrl: string): Bundle {
  return {
    ...bundle,
    entry: bundle.entry?.map((e) =>
      e.resource?.id && !e.fullUrl ? { fullUrl: `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`, ...e } : e,
    ),
  };
}

function operationOutcome(code: string, text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: code as 'invalid', diagnostics: text }] };
}

function send(res: ServerResponse, status: number, body: Resource): number {
  res.writeHead(status, { 'Content-Type': FHIR_JSON });
  res.end(JSON.stringify(body));
  return status;
}
