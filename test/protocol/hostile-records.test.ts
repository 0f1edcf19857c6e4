import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Condition, FhirResource, Patient } from 'fhir/r4';
import { SERVICES } from '../../hooks/services.js';
import { emptyRecord } from '../../src/data/record.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnowledgeHolder, defaultMappingsDir, loadKnowledge } from '../../src/knowledge/knowledge.js';
import { loadConfig } from '../../src/config/config.js';
import { draftImagingOrder, fullPrefetch, orderRequest, patientViewRequest, postJson, searchset } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { sendJson, startStubServer, type StubServer } from '../support/stub-servers.js';
import { SPINE_CDS } from '../../hooks/index.js';

/**
 * Issue 14 items 1, 2, 3 and 8 against real things: FHIR servers on loopback that answer far too
 * much, never stop, or answer the wrong thing, and records of 200,000 resources.
 */
const HOOK = '/cds-services/spine-cds-patient-view';
const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../clinical/fixtures/d07-bilateral-sciatica.json', import.meta.url)), 'utf8')) as {
  now: string;
  request: { context: { patientId: string }; prefetch: Record<string, { entry?: Array<{ resource: FhirResource }> }> };
};
const NOW = new Date(fixture.now);
const PATIENT = fixture.request.context.patientId;
const sciatica = fixture.request.prefetch.conditions!.entry!.map((e) => e.resource);

interface Logged {
  level: number;
  msg: string;
  [k: string]: unknown;
}
const logs = (svc: RunningService): Logged[] => svc.logLines().map((l) => JSON.parse(l) as Logged);

/** Never-ending searchset: entries until the client goes away. Counts the bytes it managed to write. */
function endless(counter: { written: number; closed: Promise<void> }) {
  let closed!: () => void;
  counter.closed = new Promise((r) => (closed = r));
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.includes('/Patient/')) return sendJson(res, 200, { resourceType: 'Patient', id: PATIENT });
    res.writeHead(200, { 'content-type': 'application/fhir+json' });
    const entry = JSON.stringify({ resource: { resourceType: 'Condition', id: 'x', code: { text: 'filler '.repeat(100) } } });
    res.write('{"resourceType":"Bundle","type":"searchset","entry":[');
    counter.written += 60;
    let first = true;
    const pump = (): void => {
      while (!res.destroyed) {
        const chunk = (first ? '' : ',') + entry;
        first = false;
        counter.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    res.on('close', () => closed());
    pump();
  };
}

describe('byte caps on FHIR-server answers', () => {
  let svc: RunningService;
  let stub: StubServer;
  const counter = { written: 0, closed: Promise.resolve() };

  beforeAll(async () => {
    stub = await startStubServer(endless(counter));
    svc = await startService({ FHIR_SERVER_ALLOWLIST: new URL(stub.baseUrl).origin, FHIR_MAX_RESPONSE_BYTES: String(1024 * 1024), FHIR_DEADLINE_MS: '20000' });
  });
  afterAll(async () => {
    await svc?.close();
    await stub?.close();
  });

  it('aborts an endless answer at the per-response cap: 412 naming the key, the transfer stopped', async () => {
    const prefetch = fullPrefetch({}, PATIENT);
    delete prefetch.conditions;
    const res = await postJson(svc.baseUrl + HOOK, patientViewRequest({ prefetch, fhirServer: stub.baseUrl }, PATIENT));
    expect(res.status).toBe(412);
    const issues = (res.body as { issue: Array<{ expression?: string[]; diagnostics?: string }> }).issue;
    expect(issues.map((i) => i.expression?.[0])).toEqual(['prefetch.conditions']);
    // Allowlisted server: the operator's own, so the caller may know why.
    expect(issues[0]!.diagnostics).toMatch(/per-response limit of 1048576 bytes/);
    // The server saw the connection closed: it is not still streaming into a buffer somewhere.
    await counter.closed;
    // Loopback socket buffers hold a few MB at most; an uncapped read would have gone on for ever.
    expect(counter.written).toBeLessThan(1024 * 1024 + 16 * 1024 * 1024);
    const line = logs(svc).find((l) => l.msg === 'required data unavailable');
    expect(line?.missing).toEqual([expect.objectContaining({ key: 'conditions', bytesRead: expect.any(Number) })]);
  });

  it('an optional key still loading when the deadline passes: 503, no cards computed after the EHR stopped waiting', async () => {
    // Answers the patient; never answers anything else.
    const hanging = await startStubServer((req, res) => {
      if (req.url?.includes('/Patient/')) sendJson(res, 200, { resourceType: 'Patient', id: PATIENT });
    });
    const local = await startService({ FHIR_SERVER_ALLOWLIST: new URL(hanging.baseUrl).origin, FHIR_DEADLINE_MS: '300' });
    try {
      const prefetch = fullPrefetch({}, PATIENT);
      delete prefetch.procedures;
      const res = await postJson(local.baseUrl + HOOK, patientViewRequest({ prefetch, fhirServer: hanging.baseUrl }, PATIENT));
      expect(res.status).toBe(503);
      expect(JSON.stringify(res.body)).toContain('deadline');
      expect(res.body).not.toHaveProperty('cards');
    } finally {
      await local.close();
      await hanging.close();
    }
  });

  it('refuses a declared Content-Length over the cap without reading the body', async () => {
    const big = await startStubServer((req, res) => {
      if (req.url?.includes('/Patient/')) return sendJson(res, 200, { resourceType: 'Patient', id: PATIENT });
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': String(50 * 1024 * 1024) });
      res.write('{"resourceType":"Bundle",');
    });
    const local = await startService({ FHIR_SERVER_ALLOWLIST: new URL(big.baseUrl).origin, FHIR_MAX_RESPONSE_BYTES: String(1024 * 1024) });
    try {
      const prefetch = fullPrefetch({}, PATIENT);
      delete prefetch.observations;
      const res = await postJson(local.baseUrl + HOOK, patientViewRequest({ prefetch, fhirServer: big.baseUrl }, PATIENT));
      expect(res.status).toBe(412);
      expect(JSON.stringify(res.body)).toContain('prefetch.observations');
    } finally {
      await local.close();
      await big.close();
    }
  });

  it('shares one per-call budget across keys and pages', async () => {
    // Each answer is under the per-response cap; together they pass the per-call cap.
    const padded = (id: string): FhirResource => ({ resourceType: 'Condition', id, subject: { reference: `Patient/${PATIENT}` }, code: { text: 'n'.repeat(900) } });
    // Both big answers are held until both searches are in flight: the keys are fetched in parallel,
    // and a budget each read took a private copy of at its start let two parallel reads through.
    let release!: () => void;
    const bothAsked = new Promise<void>((resolve) => (release = resolve));
    let bigAsked = 0;
    const fat = await startStubServer(async (req, res) => {
      if (req.url?.includes('/Patient/')) return sendJson(res, 200, { resourceType: 'Patient', id: PATIENT });
      // The two required searches answer ~600 kB each; the optional ones nothing.
      const big = req.url?.includes('/Condition?') || (req.url?.includes('/Observation?') && req.url.includes('code='));
      if (big && ++bigAsked === 2) release();
      if (big) await Promise.race([bothAsked, new Promise((resolve) => setTimeout(resolve, 3000))]);
      sendJson(res, 200, searchset(big ? Array.from({ length: 600 }, (_, i) => padded(`c${i}`)) : []));
    });
    const local = await startService({ FHIR_SERVER_ALLOWLIST: new URL(fat.baseUrl).origin, FHIR_MAX_RESPONSE_BYTES: String(1024 * 1024), FHIR_MAX_CALL_BYTES: String(1024 * 1024) });
    try {
      const res = await postJson(local.baseUrl + HOOK, patientViewRequest({ prefetch: undefined, fhirServer: fat.baseUrl }, PATIENT));
      expect(bigAsked).toBe(2);
      expect(res.status).toBe(412);
      expect(JSON.stringify(res.body)).toContain('per-call limit of 1048576 bytes');
    } finally {
      await local.close();
      await fat.close();
    }
  });
});

describe('in development the 412 is not an oracle about the target', () => {
  it('a wrong answer, a closed port and a hanging server read the same to the caller; the log tells them apart', async () => {
    const wrong = await startStubServer((_req, res) => sendJson(res, 200, searchset()));
    const hanging = await startStubServer(() => undefined);
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    // No allowlist: development lets any loopback fhirServer through.
    const svc = await startService({ NODE_ENV: 'development', FHIR_DEADLINE_MS: '1500' });
    try {
      const prefetch = fullPrefetch({}, PATIENT);
      delete prefetch.patient;
      const bodies: string[] = [];
      for (const fhirServer of [wrong.baseUrl, `http://127.0.0.1:${closedPort}/fhir`, hanging.baseUrl]) {
        const res = await postJson(svc.baseUrl + HOOK, patientViewRequest({ prefetch, fhirServer }, PATIENT));
        expect(res.status).toBe(412);
        bodies.push(JSON.stringify(res.body));
      }
      expect(new Set(bodies).size).toBe(1);
      expect(bodies[0]).toContain('prefetch.patient');
      expect(bodies[0]).not.toMatch(/Bundle|unreachable|deadline|TypeError/);
      const reasons = logs(svc)
        .filter((l) => l.msg === 'required data unavailable')
        .map((l) => JSON.stringify(l.missing));
      expect(reasons).toEqual([
        expect.stringContaining('expected Patient, got Bundle'),
        expect.stringContaining('unreachable'),
        expect.stringContaining('deadline'),
      ]);
    } finally {
      await svc.close();
      await wrong.close();
      await hanging.close();
    }
  });
});

describe('records far larger than a real chart', () => {
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService({ BODY_LIMIT_BYTES: String(128 * 1024 * 1024), MAX_DRAFT_ORDERS: '3' }, { now: () => NOW });
  });
  afterAll(async () => svc?.close());

  it('200,000 Conditions: the newest are evaluated, the red-flag card still comes, and the truncation is on it', async () => {
    const filler: FhirResource[] = Array.from({ length: 200_000 }, (_, i) => ({
      resourceType: 'Condition',
      id: `old-${i}`,
      subject: { reference: `Patient/${PATIENT}` },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertensive disorder' }] },
      recordedDate: new Date(Date.UTC(2000, 0, 1) + (i % 5000) * 86_400_000).toISOString(),
    }));
    const prefetch = { ...fixture.request.prefetch, conditions: searchset([...filler, ...sciatica]) };
    const res = await postJson(svc.baseUrl + HOOK, patientViewRequest({ prefetch, context: fixture.request.context }, PATIENT));
    expect(res.status).toBe(200);
    const cards = (res.body as { cards: Array<{ summary: string; detail?: string; source: { topic?: { code: string } } }> }).cards;
    expect(cards.map((c) => c.source.topic?.code)).toContain('bilateral-radiculopathy');
    const detail = cards.map((c) => c.detail ?? '').join('\n');
    expect(detail).toMatch(/only the newest \d+ of 200002 entries were evaluated/);
    expect(logs(svc).filter((l) => l.level >= 50)).toEqual([]);
  }, 120_000);

  it('80,000 codings on one Condition: bounded, answered, and the cut is said', async () => {
    const codings = Array.from({ length: 80_000 }, (_, i) => ({ system: 'http://example.org/junk', code: `j${i}`, display: `junk ${i}` }));
    const hostile: FhirResource = { resourceType: 'Condition', id: 'many', subject: { reference: `Patient/${PATIENT}` }, code: { coding: codings } };
    const prefetch = { ...fixture.request.prefetch, conditions: searchset([...sciatica, hostile]) };
    const res = await postJson(svc.baseUrl + HOOK, patientViewRequest({ prefetch }, PATIENT));
    expect(res.status).toBe(200);
    const detail = (res.body as { cards: Array<{ detail?: string }> }).cards.map((c) => c.detail ?? '').join('\n');
    expect(detail).toMatch(/more than 32 codings/);
  }, 60_000);

  it('a long free text is cut before the name matcher, and the cut is said even with no other card', async () => {
    const prefetch = fullPrefetch({ conditions: searchset([{ resourceType: 'Condition', id: 't', subject: { reference: `Patient/${PATIENT}` }, code: { text: 'x'.repeat(2_000_000) } }]) }, PATIENT);
    const res = await postJson(svc.baseUrl + HOOK, patientViewRequest({ prefetch }, PATIENT));
    expect(res.status).toBe(200);
    const cards = (res.body as { cards: Array<{ summary: string; detail?: string }> }).cards;
    expect(cards.length).toBeGreaterThan(0);
    expect(cards.map((c) => c.detail).join('\n')).toMatch(/longer than 1000 characters/);
  });
});

describe('the engine itself on 200,000 resources (no work bounds in front)', () => {
  it('evaluates 200,000 matching Conditions without a stack overflow, and renders the cards', async () => {
    const config = loadConfig({ NODE_ENV: 'test' }, SPINE_CDS);
    const knowledge = await loadKnowledge(defaultMappingsDir(), SPINE_CDS, config.rules);
    const template = sciatica[0] as FhirResource & { id: string };
    const conditions = Array.from({ length: 200_000 }, (_, i) => ({ ...template, id: `s${i}` })) as Condition[];
    const record = { ...emptyRecord(), patient: { resourceType: 'Patient', id: PATIENT, birthDate: '1980-05-01' } as Patient, conditions };
    const findings = knowledge.evaluate(record, NOW);
    expect(findings.failed).toBeUndefined();
    expect(findings.findings.LEG.state).toBe('present');
    expect(findings.findings.LEG.evidence.length).toBe(200_000);
    const service = SERVICES.find((s) => s.hook === 'patient-view')!;
    const response = knowledge.advisor.advise({ service, context: { userId: 'Practitioner/1', patientId: PATIENT }, ordersUnderReview: [], allDraftOrders: [], record, findings, now: NOW });
    expect(response.cards.length).toBeGreaterThan(0);
    expect(response.cards.map((c) => c.summary).join(' ')).not.toMatch(/could not assess/i);
  }, 120_000);
});

describe('draft orders past the bound', () => {
  it('reviews the first MAX_DRAFT_ORDERS and says how many were left out', async () => {
    const svc = await startService({ MAX_DRAFT_ORDERS: '3' }, { now: () => NOW });
    try {
      const drafts = Array.from({ length: 5 }, (_, i) => draftImagingOrder(`draft-${i}`, PATIENT));
      const body = orderRequest('order-sign', { prefetch: fixture.request.prefetch }, PATIENT);
      (body.context as { draftOrders: unknown }).draftOrders = { resourceType: 'Bundle', type: 'collection', entry: drafts.map((resource) => ({ resource })) };
      const res = await postJson(`${svc.baseUrl}/cds-services/spine-cds-order-sign`, body);
      expect(res.status).toBe(200);
      const detail = (res.body as { cards: Array<{ detail?: string }> }).cards.map((c) => c.detail ?? '').join('\n');
      expect(detail).toContain('only the first 3 of 5 draft orders were reviewed');
    } finally {
      await svc.close();
    }
  });
});

describe('a finding that fails to evaluate is never silence', () => {
  it('answers a card naming the finding, and logs the error', async () => {
    const config = loadConfig({ NODE_ENV: 'test' }, SPINE_CDS);
    // A real failure inside the engine: the radiating-leg-pain finding's value set is gone.
    const knowledge = new KnowledgeHolder(async () => {
      const k = await loadKnowledge(defaultMappingsDir(), SPINE_CDS, config.rules);
      const leg = k.mappings.definitions.find((d) => d.id === 'LEG')!;
      for (const c of leg.criteria) if ('valueSet' in c && typeof c.valueSet === 'string') (k.mappings.valueSets as Map<string, unknown>).delete(c.valueSet);
      return k;
    });
    const svc = await startService({}, { now: () => NOW, knowledge });
    try {
      const res = await postJson(svc.baseUrl + HOOK, patientViewRequest({ prefetch: fixture.request.prefetch, context: fixture.request.context }, PATIENT));
      expect(res.status).toBe(200);
      const cards = (res.body as { cards: Array<{ summary: string; detail?: string }> }).cards;
      const failure = cards.find((c) => /could not evaluate/i.test(c.summary));
      expect(failure?.summary).toContain('Leg radiation');
      const errors = logs(svc).filter((l) => l.level >= 50);
      // Every finding that reads the missing set fails with it (LEG, and SEVBACK's back pain radiating into a leg).
      expect(errors).toEqual([expect.objectContaining({ msg: 'findings failed to evaluate', failedFindings: expect.arrayContaining([expect.objectContaining({ finding: 'LEG' })]) })]);
    } finally {
      await svc.close();
    }
  });
});
