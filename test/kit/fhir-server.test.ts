import type { Bundle, CapabilityStatement, Observation, Patient } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, startFhirServer } from '../support/fhir-server.js';

const TOKEN = 'test-token-1';
const auth = { Authorization: `Bearer ${TOKEN}` };

function temperature(id: string, patient: string, day: number, code = '8310-5'): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: `2024-03-${String(day).padStart(2, '0')}`,
    valueQuantity: { value: 37 + day / 100, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
  };
}

function transaction(resources: (Patient | Observation)[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
  };
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers: { ...auth, Accept: 'application/fhir+json' } });
  return { status: res.status, body: (await res.json()) as T };
}

describe('test FHIR server (kit/fhir-server)', () => {
  let server: { baseUrl: string; stop(): Promise<void> };

  beforeAll(async () => {
    server = await startFhirServer({ requireToken: TOKEN });
    const observations = Array.from({ length: 23 }, (_, i) => temperature(`temp-${i + 1}`, 'pat-a', i + 1));
    await loadBundle(
      server.baseUrl,
      transaction([
        { resourceType: 'Patient', id: 'pat-a', birthDate: '1960-05-01' },
        { resourceType: 'Patient', id: 'pat-b', birthDate: '1990-05-01' },
        ...observations,
        temperature('other-code', 'pat-a', 1, '29463-7'),
        temperature('temp-b', 'pat-b', 2),
      ]),
      TOKEN,
    );
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('reads a resource PUT with a client id, and answers 404 for an unknown one', async () => {
    const found = await getJson<Patient>(`${server.baseUrl}/Patient/pat-a`);
    expect(found.status).toBe(200);
    expect(found.body.birthDate).toBe('1960-05-01');
    const missing = await fetch(`${server.baseUrl}/Patient/nobody`, { headers: auth });
    expect(missing.status).toBe(404);
  });

  it('searches by bare patient id and system|code', async () => {
    const url = `${server.baseUrl}/Observation?patient=pat-b&code=${encodeURIComponent('http://loinc.org|8310-5')}`;
    const { body } = await getJson<Bundle>(url);
    expect(body.entry?.map((e) => e.resource?.id)).toEqual(['temp-b']);
  });

  it('pages a search with absolute next links until every match is returned once', async () => {
    const first = `${server.baseUrl}/Observation?patient=pat-a&code=http://loinc.org|8310-5&_sort=-date&_count=10`;
    const ids: string[] = [];
    let next: string | undefined = first;
    let pages = 0;
    while (next) {
      expect(next.startsWith(`${server.baseUrl}/Observation?`)).toBe(true);
      const { body }: { body: Bundle } = await getJson<Bundle>(next);
      expect(body.total).toBe(23);
      ids.push(...(body.entry ?? []).map((e) => e.resource?.id ?? ''));
      next = body.link?.find((l) => l.relation === 'next')?.url;
      pages++;
    }
    expect(pages).toBe(3);
    expect(ids).toHaveLength(23);
    expect(new Set(ids).size).toBe(23);
    // _sort=-date holds across pages: newest first.
    expect(ids[0]).toBe('temp-23');
    expect(ids.at(-1)).toBe('temp-1');
  });

  it('answers POST [type]/_search with form parameters as the CDS Hooks Sandbox sends it, like the GET search', async () => {
    const params = new URLSearchParams({ patient: 'pat-b', code: 'http://loinc.org|8310-5' });
    const post = await fetch(`${server.baseUrl}/Observation/_search`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
    });
    expect(post.status).toBe(200);
    expect(((await post.json()) as Bundle).entry?.map((e) => e.resource?.id)).toEqual(['temp-b']);
    // URL and body parameters combine; paging links come back as GET URLs.
    const paged = await fetch(`${server.baseUrl}/Observation/_search?_count=10`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ patient: 'pat-a', code: 'http://loinc.org|8310-5' }).toString(),
    });
    const bundle = (await paged.json()) as Bundle;
    expect(bundle.total).toBe(23);
    expect(bundle.entry).toHaveLength(10);
    expect(bundle.link?.find((l) => l.relation === 'next')?.url).toMatch(new RegExp(`^${server.baseUrl}/Observation\\?`));
    const json = await fetch(`${server.baseUrl}/Observation/_search`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"patient":"pat-b"}',
    });
    expect(json.status).toBe(415);
  });

  it('updates in place on a repeated transaction PUT (idempotent load)', async () => {
    await loadBundle(server.baseUrl, transaction([{ resourceType: 'Patient', id: 'pat-b', birthDate: '1991-01-01' }]), TOKEN);
    const { body } = await getJson<Bundle>(`${server.baseUrl}/Patient?_id=pat-b`);
    expect(body.total).toBe(1);
    expect((body.entry?.[0]?.resource as Patient).birthDate).toBe('1991-01-01');
  });

  it('serves /metadata without a token, with fhirVersion 4.0.1', async () => {
    const res = await fetch(`${server.baseUrl}/metadata`);
    expect(res.status).toBe(200);
    const cs = (await res.json()) as CapabilityStatement;
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
  });

  it('requires the bearer token on data requests', async () => {
    expect((await fetch(`${server.baseUrl}/Patient/pat-a`)).status).toBe(401);
    const wrong = await fetch(`${server.baseUrl}/Patient/pat-a`, { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('answers a CORS preflight allowing Authorization and Content-Type', async () => {
    const res = await fetch(`${server.baseUrl}/Patient/pat-a`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://sandbox.cds-hooks.org',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://sandbox.cds-hooks.org');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
  });

  it('accepts application/json as well as application/fhir+json, and refuses other bodies', async () => {
    const put = (contentType: string) =>
      fetch(`${server.baseUrl}/Patient/pat-json`, {
        method: 'PUT',
        headers: { ...auth, 'Content-Type': contentType },
        body: JSON.stringify({ resourceType: 'Patient', id: 'pat-json', gender: 'female' }),
      });
    expect((await put('application/json')).status).toBeLessThan(300);
    expect((await put('text/plain')).status).toBe(415);
    expect((await getJson<Patient>(`${server.baseUrl}/Patient/pat-json`)).body.gender).toBe('female');
  });

  it('processes a batch entry by entry, and loadBundle reports the entry that failed', async () => {
    const batch: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', id: 'pat-batch' }, request: { method: 'PUT', url: 'Patient/pat-batch' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      ],
    };
    await expect(loadBundle(server.baseUrl, batch, TOKEN)).rejects.toThrow(/1 of 2 batch entries failed.*Patient\/does-not-exist/);
    expect((await getJson<Patient>(`${server.baseUrl}/Patient/pat-batch`)).status).toBe(200);
  });

  it('rejects a failed transaction as a whole', async () => {
    const bad: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id: 'tx-ok' }, request: { method: 'PUT', url: 'Patient/tx-ok' } },
        { resource: { resourceType: 'Patient', id: 'x' }, request: { method: 'PUT', url: 'Patient/y' } },
      ],
    };
    await expect(loadBundle(server.baseUrl, bad, TOKEN)).rejects.toThrow(/400.*Patient\/y/);
    expect((await fetch(`${server.baseUrl}/Patient/tx-ok`, { headers: auth })).status).toBe(404);
  });
});
