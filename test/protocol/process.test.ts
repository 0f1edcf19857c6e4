import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { patientViewRequest, postJson } from '../support/requests.js';
import { startServiceProcess } from '../support/process.js';
import { sendJson, startStubServer, type StubServer } from '../support/stub-servers.js';
import { searchset } from '../support/requests.js';

const stubs: StubServer[] = [];
const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spine-cds-proc-'));
afterAll(async () => {
  await Promise.all(stubs.map((s) => s.close()));
  fs.rmSync(dbDir, { recursive: true, force: true });
});

const dbUrl = () => `sqlite:${path.join(dbDir, `cards-${Date.now()}.db`)}`;

describe('the service process', () => {
  it('on SIGTERM stops taking new requests and finishes the ones in flight', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const requestArrived = new Promise<void>((r) => (arrived = r));
    const slowFhir = await startStubServer(async (req, res) => {
      arrived();
      await gate;
      if (req.url?.includes('/Patient/')) sendJson(res, 200, { resourceType: 'Patient', id: 'p1' });
      else sendJson(res, 200, searchset());
    });
    stubs.push(slowFhir);
    const svc = await startServiceProcess({ DATABASE_URL: dbUrl(), FHIR_DEADLINE_MS: '20000' });

    const inFlight = postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, patientViewRequest({ prefetch: undefined, fhirServer: slowFhir.baseUrl }));
    await requestArrived;
    svc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const late = await fetch(`${svc.baseUrl}/healthz`).then((r) => r.status, () => 'refused');
    expect(['refused', 503]).toContain(late);
    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    const code = await svc.exited;
    expect(code, svc.output()).toBe(0);
    expect(svc.output()).toContain('shutting down');
  });

  it('refuses to start with a configuration error that names the variable', async () => {
    await expect(startServiceProcess({ PORT: 'eighty' }, 10_000)).rejects.toThrow(/PORT/);
  });

  it('refuses to start in production without an allowlist', async () => {
    await expect(startServiceProcess({ NODE_ENV: 'production', CDS_AUTH: 'off' }, 10_000)).rejects.toThrow(/FHIR_SERVER_ALLOWLIST/);
  });
});
