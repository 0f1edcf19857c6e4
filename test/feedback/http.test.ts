import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import type { Card, CdsResponse } from '../../src/cards/types.js';
import { loadConfig } from '../../src/config/config.js';
import { openStore, type Store } from '../../src/storage/index.js';
import { FIXTURES_DIR } from '../clinical/fixture.js';
import { makeKey, mint, writeIssuersFile } from '../security/support.js';
import { postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { captureLogger } from '../storage/contract.js';
import { SPINE_CDS } from '../../hooks/index.js';

/** Feedback over real HTTP against the real service and a real SQLite file. */
const dir = mkdtempSync(join(tmpdir(), 'spine-feedback-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let dbCount = 0;
const newDb = () => join(dir, `feedback-${++dbCount}.db`);

function fixture(name: string): { service: string; now: string; request: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, name), 'utf8')) as { service: string; now: string; request: Record<string, unknown> };
}
const LOW_VALUE = fixture('d10-low-value-lumbar-mri.json');
const SERVICE = LOW_VALUE.service;

function rows(path: string, sql: string): Array<Record<string, unknown>> {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

const acceptedEntry = (card: Card) => ({
  card: card.uuid,
  outcome: 'accepted',
  acceptedSuggestions: [{ id: card.suggestions![0]!.uuid }],
  outcomeTimestamp: '2026-11-20T12:05:00Z',
});

describe('POST /cds-services/{id}/feedback (CDS_AUTH=off)', () => {
  let svc: RunningService;
  let path: string;
  const url = (service = SERVICE) => `${svc.baseUrl}/cds-services/${service}/feedback`;
  const count = () => Number(rows(path, 'SELECT COUNT(*) AS n FROM feedback')[0]!.n);

  beforeAll(async () => {
    path = newDb();
    svc = await startService({ DATABASE_URL: `sqlite:${path}` }, { now: () => new Date(LOW_VALUE.now) });
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('issued cards are recorded, feedback on them is joined, a resend is acknowledged and stored once', async () => {
    const hook = await postJson(`${svc.baseUrl}/cds-services/${SERVICE}`, LOW_VALUE.request);
    expect(hook.status).toBe(200);
    const cards = (hook.body as CdsResponse).cards;
    const card = cards.find((c) => c.source.topic?.code === 'low-value-imaging')!;
    expect(card.suggestions?.length).toBeGreaterThan(0);

    const first = await postJson(url(), { feedback: [acceptedEntry(card)] });
    expect(first).toMatchObject({ status: 200, body: { stored: 1, duplicates: 0, unknownCards: 0 } });
    const again = await postJson(url(), { feedback: [acceptedEntry(card)] });
    expect(again).toMatchObject({ status: 200, body: { stored: 0, duplicates: 1, unknownCards: 0 } });

    const issued = rows(path, 'SELECT card_uuid, service_id, topic, indicator, hook_instance, patient_hash FROM issued_cards');
    expect(issued).toHaveLength(cards.length);
    expect(issued).toContainEqual(
      expect.objectContaining({ card_uuid: card.uuid, service_id: SERVICE, topic: 'low-value-imaging', indicator: 'warning', hook_instance: LOW_VALUE.request.hookInstance }),
    );
    const patientId = (LOW_VALUE.request.context as { patientId: string }).patientId;
    expect(JSON.stringify(rows(path, 'SELECT * FROM issued_cards'))).not.toContain(patientId);
    expect(rows(path, 'SELECT card_uuid, card_known, outcome FROM feedback')).toEqual([{ card_uuid: card.uuid, card_known: 1, outcome: 'accepted' }]);

    // The report reads the same file while the service keeps it open (WAL).
    const reader = await openStore(`sqlite:${path}`, { logger: captureLogger().logger, retentionDays: 0, maintenance: false, mustExist: true });
    const report = await reader.report({ since: new Date('2026-11-01T00:00:00Z') });
    await reader.close();
    expect(report.rows).toContainEqual(expect.objectContaining({ serviceId: SERVICE, topic: 'low-value-imaging', cardsIssued: 1, accepted: 1, acceptanceRate: 1 }));
  });

  it('names the route and service in the one summary log line', async () => {
    const res = await postJson(url(), { feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: '2026-11-20T12:00:00Z' }] });
    expect(res.status).toBe(200);
    const summary = svc
      .logLines()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'request completed' && l.route === 'feedback')
      .at(-1);
    expect(summary).toMatchObject({ service: 'spine-cds', serviceId: SERVICE, status: 200, path: '/cds-services/:id/feedback', feedback: { stored: 1, duplicates: 0, unknownCards: 1 } });
  });

  it('stores feedback on unknown cards and flags it instead of rejecting it', async () => {
    const ghost = randomUUID();
    const res = await postJson(url(), {
      feedback: [{ card: ghost, outcome: 'overridden', overrideReason: { userComment: 'EHR retried a week later' }, outcomeTimestamp: '2026-11-13T09:00:00+01:00' }],
    });
    expect(res).toMatchObject({ status: 200, body: { stored: 1, duplicates: 0, unknownCards: 1 } });
    expect(rows(path, `SELECT card_known, override_comment FROM feedback WHERE card_uuid = '${ghost}'`)).toEqual([
      { card_known: 0, override_comment: 'EHR retried a week later' },
    ]);
  });

  const valid = () => ({ card: randomUUID(), outcome: 'overridden', overrideReason: { reason: { system: 'urn:x', code: 'c' } }, outcomeTimestamp: '2026-11-20T12:00:00Z' });
  const invalid: Array<[string, unknown, string]> = [
    ['card missing', { ...valid(), card: undefined }, 'feedback.0.card'],
    ['outcome not accepted/overridden', { ...valid(), outcome: 'ignored' }, 'feedback.0.outcome'],
    ['accepted without acceptedSuggestions', { ...valid(), outcome: 'accepted', overrideReason: undefined }, 'feedback.0.acceptedSuggestions'],
    ['accepted with an empty acceptedSuggestions', { ...valid(), outcome: 'accepted', acceptedSuggestions: [] }, 'feedback.0.acceptedSuggestions'],
    ['overrideReason with neither reason nor comment', { ...valid(), overrideReason: {} }, 'feedback.0.overrideReason'],
    ['outcomeTimestamp missing', { ...valid(), outcomeTimestamp: undefined }, 'feedback.0.outcomeTimestamp'],
    ['outcomeTimestamp not RFC 3339', { ...valid(), outcomeTimestamp: '20/11/2026 12:00' }, 'feedback.0.outcomeTimestamp'],
  ];

  it.each(invalid)('%s → 400 OperationOutcome naming the field; nothing stored', async (_name, entry, expression) => {
    const before = count();
    // A valid entry in the same request is not stored either: the request is all or nothing.
    const res = await postJson(url(), { feedback: [entry, valid()] });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
    expect(JSON.stringify(res.body)).toContain(expression);
    expect(count()).toBe(before);
  });

  it.each([
    ['an array', []],
    ['no feedback member', { entries: [] }],
    ['feedback not an array', { feedback: { card: 'x' } }],
  ])('a body that is %s → 400', async (_name, body) => {
    const res = await postJson(url(), body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
  });

  it('an unknown service id → 404', async () => {
    const res = await postJson(url('no-such-service'), { feedback: [valid()] });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
  });
});

describe('store failures', () => {
  const config = loadConfig({ NODE_ENV: 'test', CDS_AUTH: 'off', LOG_LEVEL: 'info' }, SPINE_CDS);

  it('a failed feedback write is a 503 with Retry-After: nothing acknowledged that was not stored', async () => {
    const store = await openStore('sqlite::memory:', { logger: captureLogger().logger, retentionDays: 0 });
    const failing: Store = { ...store, recordFeedback: async () => Promise.reject(new Error('disk I/O error')) };
    const { app, knowledge } = await buildApp({ content: SPINE_CDS, config, store: failing, logStream: { write: () => undefined } });
    await knowledge.load();
    const res = await app.inject({
      method: 'POST',
      url: `/cds-services/${SERVICE}/feedback`,
      payload: { feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: '2026-11-20T12:00:00Z' }] },
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.json()).toMatchObject({ resourceType: 'OperationOutcome' });
    await app.close();
    await store.close();
  });

  it('card writes failing: the hook still answers with its cards; the failure is logged and counted', async () => {
    const path = newDb();
    const { logger, lines } = captureLogger();
    const store = await openStore(`sqlite:${path}`, { logger, retentionDays: 400 });
    const db = new Database(path);
    db.exec('ALTER TABLE issued_cards RENAME TO gone');
    db.close();
    const { app, knowledge } = await buildApp({ content: SPINE_CDS, config, store, logStream: { write: () => undefined }, now: () => new Date(LOW_VALUE.now) });
    await knowledge.load();
    const res = await app.inject({ method: 'POST', url: `/cds-services/${SERVICE}`, payload: LOW_VALUE.request });
    expect(res.statusCode).toBe(200);
    const cards = (res.json() as CdsResponse).cards;
    expect(cards.length).toBeGreaterThan(0);
    await store.flush();
    expect(store.stats()).toMatchObject({ failed: cards.length, written: 0 });
    expect(lines()).toContainEqual(expect.objectContaining({ level: 50, msg: 'card store write failed: issued cards not recorded' }));
    await app.close();
    await store.close();
  });
});

describe('authentication (CDS_AUTH=required)', () => {
  const PUBLIC_BASE_URL = 'https://cds.hospital.example';
  const ISS = 'https://fhir.epic.example/interconnect-prd-oauth';
  let svc: RunningService;
  let path: string;
  let cleanup: () => Promise<void>;
  let key: Awaited<ReturnType<typeof makeKey>>;
  const route = `/cds-services/${SERVICE}/feedback`;

  beforeAll(async () => {
    key = await makeKey('RS384');
    const written = await writeIssuersFile([{ iss: ISS, jwks: { keys: [key.publicJwk] }, tenants: ['north'] }]);
    cleanup = written.cleanup;
    path = newDb();
    svc = await startService({ CDS_AUTH: 'required', CDS_ISSUERS: written.file, PUBLIC_BASE_URL, DATABASE_URL: `sqlite:${path}` });
  });
  afterAll(async () => {
    await svc?.close();
    await cleanup?.();
  });

  const entry = { card: randomUUID(), outcome: 'overridden', overrideReason: { userComment: 'n/a' }, outcomeTimestamp: '2026-11-20T12:00:00Z' };

  it('refuses feedback without a valid JWT, and stores nothing', async () => {
    const res = await postJson(`${svc.baseUrl}${route}`, { feedback: [entry] });
    expect(res.status).toBe(401);
    expect(rows(path, 'SELECT COUNT(*) AS n FROM feedback')).toEqual([{ n: 0 }]);
  });

  it('accepts it with the same JWT as a service call, and records the verified issuer and tenant', async () => {
    const token = await mint({ key, iss: ISS, aud: PUBLIC_BASE_URL + route, claims: { tenant: 'north' } });
    const res = await postJson(`${svc.baseUrl}${route}`, { feedback: [entry] }, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(rows(path, 'SELECT issuer, tenant FROM feedback')).toEqual([{ issuer: ISS, tenant: 'north' }]);
  });
});
