/**
 * npx tsx test/bench/hostile.ts — issue 14: what hostile records cost at the default limits.
 *   - MB read from an endless FHIR answer before the per-response cap stops it;
 *   - the worst event-loop block while one request is handled (monitorEventLoopDelay max, 1 ms
 *     resolution; the service and the loopback FHIR server share this process, the request bodies
 *     are built beforehand), for each hostile shape, alone and four at once.
 * Reported, never asserted. Loopback only; each case is one request, so the run is bounded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FhirResource } from 'fhir/r4';
import { fullPrefetch, patientViewRequest, searchset } from '../support/requests.js';
import { startService } from '../support/service.js';
import { sendJson, startStubServer } from '../support/stub-servers.js';
import { hookRequest } from './workload.js';

const PATIENT = 'p1';
const MB = 1024 * 1024;

function condition(i: number, extra: Partial<Record<string, unknown>> = {}): FhirResource {
  return {
    resourceType: 'Condition',
    id: `c${i}`,
    subject: { reference: `Patient/${PATIENT}` },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertensive disorder' }] },
    recordedDate: new Date(Date.UTC(2010, 0, 1) + i * 60_000).toISOString(),
    ...extra,
  } as FhirResource;
}

/** Conditions enough to make a searchset of about `bytes`. */
function bundleOf(bytes: number): string {
  const one = JSON.stringify({ resource: condition(0) }).length + 1;
  return JSON.stringify(searchset(Array.from({ length: Math.floor(bytes / one) }, (_, i) => condition(i))));
}

async function main(): Promise<void> {
  const counter = { written: 0 };
  let closed: () => void = () => undefined;
  const underCap = bundleOf(7 * MB);
  const endlessServer = await startStubServer((req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.includes('/Patient/')) return void sendJson(res, 200, { resourceType: 'Patient', id: PATIENT, birthDate: '1960-01-01' });
    if (req.url?.includes('/Condition?')) {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      const chunk = `,${JSON.stringify({ resource: condition(1) })}`.repeat(100);
      res.write('{"resourceType":"Bundle","type":"searchset","entry":[{}');
      const pump = (): void => {
        while (!res.destroyed) {
          counter.written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => closed());
      return pump();
    }
    sendJson(res, 200, searchset());
  });
  const fhir = await startStubServer((req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.includes('/Patient/')) return void sendJson(res, 200, { resourceType: 'Patient', id: PATIENT, birthDate: '1960-01-01' });
    if (req.url?.includes('/Condition?')) {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end(underCap);
      return;
    }
    sendJson(res, 200, searchset());
  });
  const svc = await startService({ FHIR_SERVER_ALLOWLIST: `${new URL(fhir.baseUrl).origin},${new URL(endlessServer.baseUrl).origin}`, BODY_LIMIT_BYTES: String(8 * MB), LOG_LEVEL: 'warn' });
  const url = `${svc.baseUrl}/cds-services/spine-cds-patient-view`;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();

  const fetchOnly = (): Record<string, unknown> => {
    const prefetch = fullPrefetch({}, PATIENT);
    delete prefetch.conditions;
    return prefetch;
  };
  const codings = Array.from({ length: 80_000 }, (_, i) => ({ system: 'http://example.org/junk', code: `j${i}`, display: `junk display ${i}` }));
  const manyCodings = JSON.stringify(patientViewRequest({ prefetch: fullPrefetch({ conditions: searchset([condition(0, { code: { coding: codings } })]) }, PATIENT) }, PATIENT));
  const tiny = Array.from({ length: 50_000 }, (_, i) => ({ resourceType: 'Condition', id: `t${i}`, code: { text: 'Hypertension' }, recordedDate: '2020-01-01' }));
  const manyResources = JSON.stringify(patientViewRequest({ prefetch: fullPrefetch({ conditions: searchset(tiny as FhirResource[]) }, PATIENT) }, PATIENT));
  const realistic = hookRequest(200).body;

  const cases: Array<{ name: string; bodies: string[] }> = [
    { name: 'realistic record, 200 resources (prefetched)', bodies: [realistic] },
    { name: `80,000 codings on one Condition (${(manyCodings.length / MB).toFixed(1)} MB prefetch)`, bodies: [manyCodings] },
    { name: 'the same, four at once', bodies: [manyCodings, manyCodings, manyCodings, manyCodings] },
    { name: `50,000 Conditions prefetched (${(manyResources.length / MB).toFixed(1)} MB)`, bodies: [manyResources] },
    { name: `a ${(underCap.length / MB).toFixed(1)} MB Condition searchset from the FHIR server (under the cap)`, bodies: [JSON.stringify(patientViewRequest({ prefetch: fetchOnly(), fhirServer: fhir.baseUrl }, PATIENT))] },
    { name: 'an endless Condition searchset from the FHIR server', bodies: [JSON.stringify(patientViewRequest({ prefetch: fetchOnly(), fhirServer: endlessServer.baseUrl }, PATIENT))] },
  ];
  // The machines are shared: each case runs REPEAT times (default 3), the first warming the code
  // paths up; the median and the maximum of the worst block are reported.
  const repeat = Number(process.env.REPEAT ?? 3);
  const results: Array<Record<string, unknown>> = [];
  for (const c of cases) {
    const blocks: number[] = [];
    let statuses: number[] = [];
    for (let r = 0; r < repeat; r++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      h.reset();
      statuses = await Promise.all(
        c.bodies.map(async (body) => {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      blocks.push(Math.round(h.max / 1e6));
    }
    const sorted = [...blocks].sort((a, b) => a - b);
    results.push({ case: c.name, statuses, worstLoopBlockMs: { median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1], all: blocks } });
  }
  await new Promise<void>((resolve) => {
    closed = resolve;
    setTimeout(resolve, 2000);
  });
  const aborted = svc
    .logLines()
    .map((l) => JSON.parse(l) as { msg?: string; missing?: Array<{ bytesRead?: number }> })
    .find((l) => l.msg === 'required data unavailable' && l.missing?.some((m) => m.bytesRead));
  console.log(
    JSON.stringify(
      {
        results,
        endless: { serviceReadMB: Number(((aborted?.missing?.[0]?.bytesRead ?? NaN) / MB).toFixed(2)), serverWroteMBPerAbort: Number((counter.written / repeat / MB).toFixed(2)), capMB: 8 },
      },
      null,
      2,
    ),
  );
  await svc.close();
  await fhir.close();
  await endlessServer.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
