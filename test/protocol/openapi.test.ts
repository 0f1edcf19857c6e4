import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  CdsResponseSchema,
  DiscoveryResponseSchema,
  FeedbackResultSchema,
  HealthSchema,
  OpenApiDriftError,
  ReadinessSchema,
  registerOpenApi,
  ROUTE_DOCS,
} from '../../src/http/openapi.js';
import { orderRequest, patientViewRequest, postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';

/**
 * /openapi.json describes what the service serves: the same operations, and response shapes the real
 * answers satisfy. A route without a description (or the reverse) stops the app from starting.
 */

let svc: RunningService;
let doc: { openapi: string; info: { version: string }; paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>> };

beforeAll(async () => {
  svc = await startService();
  const response = await fetch(`${svc.baseUrl}/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as typeof doc;
});
afterAll(async () => {
  await svc?.close();
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));

function expectShape(schema: z.ZodType, body: unknown): void {
  const parsed = schema.safeParse(body);
  expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
}

describe('/openapi.json', () => {
  it('is OpenAPI 3 with the package version, and lists exactly the served operations', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(typeof doc.info.version).toBe('string');
    expect(operations().sort()).toEqual(Object.keys(ROUTE_DOCS).sort());
    for (const key of operations()) {
      const [method, url] = key.split(' ') as ['GET' | 'POST', string];
      expect(svc.app.hasRoute({ method, url }), key).toBe(true);
    }
  });

  it('describes the request bodies from the schemas the handlers validate with', () => {
    const call = doc.paths['/cds-services/{id}']!.post!;
    expect(JSON.stringify(call.requestBody)).toMatch(/"required":\["hook","hookInstance","context"\]/);
    const feedback = doc.paths['/cds-services/{id}/feedback']!.post!;
    expect(JSON.stringify(feedback.requestBody)).toMatch(/"outcome":\{"type":"string","enum":\["accepted","overridden"\]\}/);
    expect(Object.keys(call.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '412']));
  });

  it('describes responses the real answers satisfy', async () => {
    expectShape(DiscoveryResponseSchema, await (await fetch(`${svc.baseUrl}/cds-services`)).json());
    expectShape(HealthSchema, await (await fetch(`${svc.baseUrl}/healthz`)).json());
    expectShape(ReadinessSchema, await (await fetch(`${svc.baseUrl}/readyz`)).json());
    const view = await postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, patientViewRequest());
    expectShape(CdsResponseSchema, view.body);
    const sign = await postJson(`${svc.baseUrl}/cds-services/spine-cds-order-sign`, orderRequest('order-sign'));
    expectShape(CdsResponseSchema, sign.body);
    expect((sign.body as { cards: unknown[] }).cards.length).toBeGreaterThan(0);
    const feedback = await postJson(`${svc.baseUrl}/cds-services/spine-cds-order-sign/feedback`, {
      feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }],
    });
    expect(feedback.status).toBe(200);
    expectShape(FeedbackResultSchema, feedback.body);
  });
});

describe('drift between routes and the description', () => {
  it('refuses to start with a route that is not described', async () => {
    const app = Fastify();
    await registerOpenApi(app, {});
    for (const key of Object.keys(ROUTE_DOCS)) {
      const [method, url] = key.split(' ') as ['GET' | 'POST', string];
      app.route({ method, url, handler: async () => ({}) });
    }
    expect(() => app.get('/cds-services/:id/undocumented', async () => ({}))).toThrow(OpenApiDriftError);
    await app.close();
  });

  it('refuses to start when a described route is no longer served', async () => {
    const app = Fastify();
    await registerOpenApi(app, {});
    app.get('/healthz', async () => ({ status: 'ok', version: 'x' }));
    await expect(app.ready()).rejects.toThrow(/described but not served: GET \/cds-services/);
    await app.close().catch(() => undefined);
  });
});
