import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CdsResponse } from '../../src/cards/types.js';
import { demoPatientBundles, type ExpectedCards } from '../../kit/demo-patients/index.js';
import {
  buildHookRequest,
  callService,
  discoverServices,
  serviceForHook,
  withPrefetch,
  type DiscoveredService,
} from '../../kit/ehr/hook-request.js';
import { REPO_ROOT } from '../../kit/paths.js';
import { startCdsService, type RunningCdsService } from '../../kit/sandbox/cds-service.js';
import { loadDemoPatients, loadExternalFixtures } from '../../kit/sandbox/load.js';
import { startFhirServer } from '../support/fhir-server.js';
import { failureOf, runScript as tsx } from '../support/process.js';

/**
 * End to end through the local sandbox: a real FHIR server (child process) holding the demo
 * patients and the external fixtures, the real CDS service (src/main.ts, child process) pointed at
 * it, and a mock EHR over real HTTP. Every hook of every demo patient is fired twice: with prefetch
 * filled by the EHR, and without prefetch so the service reads the FHIR server itself. The expected
 * card topics come from each demo patient's file (derived from docs/clinical-rules.md, Decision table).
 */

const today = new Date();
const patients = demoPatientBundles(today);
const topicSystem = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'mappings/codesystems/card-topic.json'), 'utf8')) as { url: string }).url;

let fhir: { baseUrl: string; stop(): Promise<void> };
let cds: RunningCdsService;
let services: DiscoveredService[];
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'spine-cds-e2e-'));
  fhir = await startFhirServer();
  await loadDemoPatients(fhir.baseUrl, today);
  // The third-party patients share the server so every search must really filter by patient.
  await loadExternalFixtures(fhir.baseUrl);
  cds = await startCdsService({
    fhirOrigins: [new URL(fhir.baseUrl).origin],
    env: { DATABASE_URL: `sqlite:${path.join(dataDir, 'spine-cds.db')}`, LOG_LEVEL: 'warn' },
  });
  services = await discoverServices(cds.baseUrl);
}, 120_000);

afterAll(async () => {
  await cds?.stop();
  await fhir?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function fire(patientId: string, c: ExpectedCards, prefetch: boolean): Promise<CdsResponse> {
  const service = serviceForHook(services, c.hook);
  let request = buildHookRequest({ hook: c.hook, patientId, fhirServer: fhir.baseUrl, ...(c.order ? { order: c.order } : {}), now: today });
  if (prefetch) {
    const filled = await withPrefetch(request, service);
    expect(filled.failures).toEqual([]);
    request = filled.request;
  }
  const response = await callService(cds.baseUrl, service.id, request);
  expect(response.status, response.text.slice(0, 500)).toBe(200);
  return response.body as CdsResponse;
}

function describeCase(c: ExpectedCards): string {
  return `${c.hook}${c.order ? ` --order ${c.order}` : ''}`;
}

describe('sandbox e2e: demo patients through the CDS service', () => {
  it('discovers one service per hook', () => {
    expect(services.map((s) => s.hook).sort()).toEqual(['order-select', 'order-sign', 'patient-view']);
  });

  for (const patient of patients) {
    it(`${patient.id}: expected card topics on every hook, with and without prefetch`, async () => {
      for (const c of patient.expect) {
        for (const prefetch of [true, false]) {
          const label = `${patient.id} ${describeCase(c)} ${prefetch ? 'prefetch' : 'FHIR server'}`;
          const { cards } = await fire(patient.id, c, prefetch);
          // Depends on the decision rules (hooks/advise.ts): topics and indicators per docs/clinical-rules.md (Decision table, Card topics).
          expect(cards.map((card) => card.source.topic?.code).sort(), label).toEqual([...c.topics].sort());
          for (const card of cards) expect(card.source.topic?.system, label).toBe(topicSystem);
          for (const [topic, indicator] of Object.entries(c.indicators ?? {})) {
            expect(cards.find((card) => card.source.topic?.code === topic)?.indicator, `${label}: ${topic}`).toBe(indicator);
          }
        }
      }
    });
  }
});

describe('sandbox e2e: the kit CLIs', () => {
  it('fire --json prints the raw CDS response of the service', async () => {
    const { stdout } = await tsx('kit/fire.ts', [
      '--fhir', fhir.baseUrl, '--service', cds.baseUrl, '--patient', 'demo-cauda-equina', '--hook', 'patient-view', '--json',
    ]);
    const body = JSON.parse(stdout) as CdsResponse;
    expect(body.cards.map((c) => c.source.topic?.code)).toEqual(['cauda-equina']);
  });

  it('fire exits 1 and explains a non-200 answer', async () => {
    const failed = await failureOf(tsx('kit/fire.ts', [
      '--fhir', fhir.baseUrl, '--service', cds.baseUrl, '--patient', 'no-such-patient', '--hook', 'patient-view', '--no-prefetch',
    ]));
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/answered HTTP 4\d\d/);
  });

  it('seed is idempotent, and fails with one line and exit 1 when the server is down', async () => {
    const count = async () => ((await (await fetch(`${fhir.baseUrl}/Condition?_count=0`)).json()) as Bundle).total;
    const before = await count();
    const { stdout } = await tsx('kit/seed.ts', ['--fhir', fhir.baseUrl]);
    expect(stdout).toContain(`seeded ${patients.length} demo patients`);
    expect(await count()).toBe(before);

    const down = await failureOf(tsx('kit/seed.ts', ['--fhir', 'http://127.0.0.1:9/fhir']));
    expect(down?.code).toBe(1);
    expect(down?.stderr?.trim().split('\n')).toHaveLength(1);
  });
});
