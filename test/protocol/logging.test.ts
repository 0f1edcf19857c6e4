import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullPrefetch, patientViewRequest, postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { sendJson, startStubServer, type StubServer } from '../support/stub-servers.js';

// Values that must never reach the log, planted in every place a request can carry them.
const ACCESS_TOKEN = 'AT-never-log-me-7f3a';
const JWT = 'eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJodHRwczovL2VociJ9.c2lnbmF0dXJl';
const PATIENT_ID = 'mrn-55501234';
const PREFETCH_MARKER = 'Prefetch-Content-Marker';

let svc: RunningService;
let fhir: StubServer;
beforeAll(async () => {
  fhir = await startStubServer((_req, res) => sendJson(res, 500, { resourceType: 'OperationOutcome', issue: [] }));
  svc = await startService({ LOG_LEVEL: 'info', FHIR_SERVER_ALLOWLIST: new URL(fhir.baseUrl).origin });
});
afterAll(async () => {
  await svc.close();
  await fhir.close();
});

function logs(): Array<Record<string, unknown>> {
  return svc.logLines().map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The keys of every object in one line of JSON text, in order, per object. JSON.parse keeps the last of
 * two equal keys without a word, so duplicates can only be seen in the text itself.
 */
function keysPerObject(line: string): string[][] {
  const done: string[][] = [];
  const open: Array<string[] | null> = []; // null: an array
  let expectingKey = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      let end = i + 1;
      while (line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      const top = open.at(-1);
      if (expectingKey && top) top.push(JSON.parse(line.slice(i, end + 1)) as string);
      expectingKey = false;
      i = end;
    } else if (ch === '{') {
      open.push([]);
      expectingKey = true;
    } else if (ch === '[') {
      open.push(null);
    } else if (ch === '}' || ch === ']') {
      const closed = open.pop();
      if (closed) done.push(closed);
    } else if (ch === ',') {
      expectingKey = Boolean(open.at(-1));
    }
  }
  return done;
}

function duplicates(keys: string[]): string[] {
  return keys.filter((k, i) => keys.indexOf(k) !== i);
}

describe('logs', () => {
  it('writes exactly one summary line per call with service, hook, status, cards, duration and hookInstance', async () => {
    const body = patientViewRequest();
    const res = await postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, body);
    expect(res.status).toBe(200);
    const mine = logs().filter((l) => l.hookInstance === body.hookInstance);
    const summaries = mine.filter((l) => l.msg === 'request completed');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({
      service: 'spine-cds',
      serviceId: 'spine-cds-patient-view',
      hook: 'patient-view',
      status: 200,
      cards: (res.body as { cards: unknown[] }).cards.length,
      durationMs: expect.any(Number),
    });
  });

  it('writes no key twice in one object of a line: summary lines of service, feedback and discovery calls included', async () => {
    const body = patientViewRequest();
    expect((await postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, body)).status).toBe(200);
    const feedback = { feedback: [{ card: '9a2f0c1e-1111-4a55-9f54-1c7a0f3b2e10', outcome: 'overridden', outcomeTimestamp: '2026-11-20T12:00:00Z' }] };
    expect((await postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view/feedback`, feedback)).status).toBe(200);
    expect((await fetch(`${svc.baseUrl}/cds-services`)).status).toBe(200);

    const lines = svc.logLines();
    const summaries = lines.filter((l) => (JSON.parse(l) as { msg?: string }).msg === 'request completed');
    const routes = summaries.map((l) => (JSON.parse(l) as { route?: string }).route);
    expect(routes).toEqual(expect.arrayContaining(['service', 'feedback', 'discovery']));
    // The scanner itself sees a duplicate when there is one.
    expect(keysPerObject('{"service":"spine-cds","a":{"service":"x","b":[{"c":1}]},"service":"y"}').map(duplicates)).toEqual([[], [], ['service']]);
    for (const line of lines) {
      for (const keys of keysPerObject(line)) expect(duplicates(keys), line).toEqual([]);
    }
    const call = summaries.map((l) => keysPerObject(l).at(-1)!).find((keys) => keys.includes('hook'));
    expect(call).toEqual(expect.arrayContaining(['service', 'serviceId', 'hook', 'status']));
  });

  it('never contains access tokens, JWTs, prefetch contents or patient identifiers', async () => {
    const prefetch = fullPrefetch(
      { patient: { resourceType: 'Patient', id: PATIENT_ID, name: [{ family: PREFETCH_MARKER }] } },
      PATIENT_ID,
    );
    delete prefetch.conditions; // forces a FHIR-server call that fails: the 412 path logs too
    const calls = [
      postJson(
        `${svc.baseUrl}/cds-services/spine-cds-patient-view`,
        patientViewRequest(
          {
            prefetch,
            fhirServer: fhir.baseUrl,
            fhirAuthorization: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'cds', patient: PATIENT_ID },
          },
          PATIENT_ID,
        ),
        { authorization: `Bearer ${JWT}` },
      ),
      postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, patientViewRequest({ prefetch: fullPrefetch({}, PATIENT_ID) }, PATIENT_ID), {
        authorization: `Bearer ${JWT}`,
      }),
      // A bad request echoes nothing either.
      postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, { hook: 'patient-view', context: { patientId: PATIENT_ID, token: ACCESS_TOKEN } }),
      fetch(`${svc.baseUrl}/cds-services?jwt=${JWT}`, { headers: { authorization: `Bearer ${JWT}` } }),
    ];
    const results = await Promise.all(calls);
    expect(results.map((r) => r.status)).toEqual([412, 200, 400, 200]);
    const text = svc.logLines().join('\n');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [ACCESS_TOKEN, JWT, PATIENT_ID, PREFETCH_MARKER]) expect(text).not.toContain(secret);
  });
});
