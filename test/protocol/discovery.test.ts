import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OBSERVATION_LOINC } from '../../hooks/prefetch.js';
import { startService, type RunningService } from '../support/service.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc.close();
});

// CDS Hooks 2.0 §Prefetch "recommended query subset" (checklist §2).
// `intent` is a token parameter: US Core's MedicationRequest search is patient+intent.
const ALLOWED_SEARCH_PARAMS = new Set(['patient', 'subject', 'code', 'clinical-status', 'status', 'category', 'date', 'intent', '_sort', '_count']);

describe('discovery', () => {
  it('lists one service per hook with id, hook, title, description and prefetch', async () => {
    const res = await fetch(`${svc.baseUrl}/cds-services`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { services: Array<Record<string, unknown>> };
    expect(body.services.map((s) => s.hook).sort()).toEqual(['order-select', 'order-sign', 'patient-view']);
    for (const s of body.services) {
      expect(typeof s.id).toBe('string');
      expect(typeof s.title).toBe('string');
      expect(typeof s.description).toBe('string');
      expect(Object.keys(s.prefetch as object)).toEqual(
        expect.arrayContaining(['patient', 'conditions', 'observations', 'medicationRequests', 'medicationStatements']),
      );
    }
  });

  it('keeps every prefetch template inside the recommended query subset', async () => {
    const body = (await (await fetch(`${svc.baseUrl}/cds-services`)).json()) as { services: Array<{ prefetch: Record<string, string> }> };
    for (const template of Object.values(body.services[0]!.prefetch)) {
      const [path, query] = template.split('?');
      if (!query) {
        expect(path).toMatch(/^[A-Z][A-Za-z]+\/\{\{context\.patientId\}\}$/);
        continue;
      }
      expect(path).toMatch(/^[A-Z][A-Za-z]+$/);
      for (const pair of query.split('&')) {
        const [name, value] = pair.split('=');
        expect(ALLOWED_SEARCH_PARAMS.has(name!.split(':')[0]!), `${name} in ${template}`).toBe(true);
        expect(name).not.toMatch(/:(?!in$)/); // only the `:in` modifier is allowed
        if (name === '_sort') expect(value).toMatch(/^-?[a-z-]+$/); // R4 syntax, not sort:desc
        if (name === 'patient') expect(value).toBe('{{context.patientId}}');
      }
    }
  });

  it('asks only for the Observation codes the rules read, filtered by code and bounded', async () => {
    const body = (await (await fetch(`${svc.baseUrl}/cds-services`)).json()) as { services: Array<{ prefetch: Record<string, string> }> };
    const observations = body.services[0]!.prefetch.observations!;
    const codes = new URLSearchParams(observations.split('?')[1]).get('code')!.split(',');
    expect(codes.sort()).toEqual(OBSERVATION_LOINC.map((c) => `http://loinc.org|${c}`).sort());
    expect(observations).toMatch(/_count=\d+/);
    expect(observations).toContain('_sort=-date');
  });
});

describe('CORS', () => {
  it('answers a browser preflight allowing Authorization and Content-Type', async () => {
    const res = await fetch(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://sandbox.cds-hooks.org',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(res.status).toBeLessThan(300);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    expect(allowed).toContain('authorization');
    expect(allowed).toContain('content-type');
    expect(res.headers.get('access-control-allow-origin')).toBeTruthy();
  });

  it('sets Access-Control-Allow-Origin on discovery', async () => {
    const res = await fetch(`${svc.baseUrl}/cds-services`, { headers: { origin: 'https://sandbox.cds-hooks.org' } });
    expect(res.headers.get('access-control-allow-origin')).toBeTruthy();
  });
});

describe('health', () => {
  it('reports liveness and readiness once mappings are loaded', async () => {
    expect((await fetch(`${svc.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${svc.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { mappings: true } });
  });
});
