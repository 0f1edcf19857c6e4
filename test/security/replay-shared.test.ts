import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailability, startPostgres, type PostgresServer } from '../support/postgres.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { fullPrefetch, patientViewRequest } from '../support/requests.js';
import { makeKey, mint, writeIssuersFile, type TestKey } from './support.js';

/**
 * Issue 14 item 4: a token accepted by one instance must be refused by every other instance on the
 * same database, and by the same instance after a restart. Real processes, real signatures, a real
 * PostgreSQL (throwaway) and a real SQLite file.
 */
const PUBLIC_BASE_URL = 'https://cds.hospital.example';
const ISS = 'https://ehr.hospital.example';
const SERVICE = 'spine-cds-patient-view';
const HOOK_PATH = `/cds-services/${SERVICE}`;
const FEEDBACK_PATH = `/cds-services/${SERVICE}/feedback`;

let key: TestKey;
let issuersFile: string;
let cleanupIssuers: () => Promise<void>;

beforeAll(async () => {
  key = await makeKey('ES384');
  const written = await writeIssuersFile([{ iss: ISS, jwks: { keys: [key.publicJwk] } }]);
  issuersFile = written.file;
  cleanupIssuers = written.cleanup;
});
afterAll(async () => cleanupIssuers?.());

const env = (databaseUrl: string): Record<string, string> => ({
  CDS_AUTH: 'required',
  CDS_ISSUERS: issuersFile,
  PUBLIC_BASE_URL,
  DATABASE_URL: databaseUrl,
  PATIENT_HASH_KEY: 'k'.repeat(40),
  RATE_LIMIT_MAX: '100000',
});

const token = (path: string): Promise<string> => mint({ key, iss: ISS, aud: PUBLIC_BASE_URL + path, claims: { jti: randomUUID() } });

async function hook(svc: ServiceProcess, jwt: string): Promise<number> {
  const res = await fetch(svc.baseUrl + HOOK_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
    body: JSON.stringify(patientViewRequest({ prefetch: fullPrefetch() })),
  });
  await res.arrayBuffer();
  return res.status;
}

async function feedback(svc: ServiceProcess, jwt: string): Promise<number> {
  const res = await fetch(svc.baseUrl + FEEDBACK_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
    body: JSON.stringify({ feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function stop(svc: ServiceProcess | undefined): Promise<void> {
  if (!svc || svc.child.exitCode !== null) return;
  svc.child.kill('SIGKILL');
  await svc.exited;
}

const pg = postgresAvailability();

describe.skipIf(!pg.available)('two service processes on one PostgreSQL', () => {
  let db: PostgresServer;
  let a: ServiceProcess | undefined;
  let b: ServiceProcess | undefined;

  beforeAll(async () => {
    db = await startPostgres();
    // One after the other: the first runs the migrations.
    a = await startServiceProcess(env(db.url), 60_000);
    b = await startServiceProcess(env(db.url), 60_000);
  }, 150_000);

  afterAll(async () => {
    await Promise.all([stop(a), stop(b)]);
    await db?.stop();
  });

  it('a hook-call token accepted by A is refused by B, and by A again', async () => {
    const jwt = await token(HOOK_PATH);
    expect(await hook(a!, jwt)).toBe(200);
    expect(await hook(b!, jwt)).toBe(401);
    expect(await hook(a!, jwt)).toBe(401);
    // A fresh token still works on B: the refusal is about the jti, not the instance.
    expect(await hook(b!, await token(HOOK_PATH))).toBe(200);
  });

  it('a feedback token accepted by B is refused by A', async () => {
    const jwt = await token(FEEDBACK_PATH);
    expect(await feedback(b!, jwt)).toBe(200);
    expect(await feedback(a!, jwt)).toBe(401);
  });

  it('the refusal is logged as a replay, without the token', async () => {
    const jwt = await token(HOOK_PATH);
    expect(await hook(a!, jwt)).toBe(200);
    expect(await hook(b!, jwt)).toBe(401);
    const lines = b!.output().split('\n').filter((l) => l.includes('replayed-jti'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(jwt);
  });

  it('a token used before a restart is refused after it', async () => {
    const jwt = await token(HOOK_PATH);
    expect(await hook(a!, jwt)).toBe(200);
    await stop(a);
    a = await startServiceProcess(env(db.url), 60_000);
    expect(await hook(a, jwt)).toBe(401);
  }, 90_000);
});

describe('one service process on a SQLite file, restarted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spine-replay-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses after the restart a token it accepted before', async () => {
    const url = `sqlite:${join(dir, 'spine.db')}`;
    let svc: ServiceProcess | undefined = await startServiceProcess(env(url), 60_000);
    try {
      const hookJwt = await token(HOOK_PATH);
      const feedbackJwt = await token(FEEDBACK_PATH);
      expect(await hook(svc, hookJwt)).toBe(200);
      expect(await feedback(svc, feedbackJwt)).toBe(200);
      // SIGKILL: no graceful close, so the rows must already be committed.
      await stop(svc);
      svc = await startServiceProcess(env(url), 60_000);
      expect(await hook(svc, hookJwt)).toBe(401);
      expect(await feedback(svc, feedbackJwt)).toBe(401);
      expect(await hook(svc, await token(HOOK_PATH))).toBe(200);
      // Refused by the shared store (this process's memory is new), and counted like any other refusal.
      const metrics = await (await fetch(`${svc.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/^spine_cds_auth_failures_total\{reason="replayed-jti"\} 2$/m);
    } finally {
      await stop(svc);
    }
  }, 150_000);
});
