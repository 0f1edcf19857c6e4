/**
 * npx tsx test/bench/hostile.ts — issue 14: what hostile records cost at the default limits.
 *   - MB read from an endless FHIR answer before the per-response cap stops it;
 *   - the worst event-loop block while one request is handled, for each hostile shape, alone and
 *     four at once. The hostile bodies and answers are sized just under the caps in force, so the
 *     worst case the limits allow is what is measured. Two measures of the block:
 *       - cpuMs: main-thread CPU time between two consecutive 1 ms timer ticks (one turn of the loop
 *         that let no timer run). What the service's own work costs; the machines are shared, and
 *         this does not count the time the process waited for a core;
 *       - wallMs: monitorEventLoopDelay's max (1 ms resolution): what a caller waiting on the loop
 *         saw, including the time the process was not scheduled at all.
 *     The service and the loopback FHIR server share this process; request bodies are built beforehand.
 * The limits come from the environment as in the service (BODY_LIMIT_BYTES, FHIR_MAX_RESPONSE_BYTES,
 * ...), so a run with the old defaults compares with one at the new ones.
 * Reported, never asserted. Loopback only; each case is one request, so the run is bounded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FhirResource } from 'fhir/r4';
import { loadConfig } from '../../src/config/config.js';
import { fullPrefetch, patientViewRequest, searchset } from '../support/requests.js';
import { startService } from '../support/service.js';
import { sendJson, startStubServer } from '../support/stub-servers.js';
import { hookRequest } from './workload.js';
import { SPINE_CDS } from '../../hooks/index.js';

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

/** Main-thread CPU time of the longest turn of the event loop that let no 1 ms timer run. */
class LoopCpuMeter {
  private last = process.threadCpuUsage();
  private worstUs = 0;
  private readonly timer = setInterval(() => {
    const now = process.threadCpuUsage();
    const used = now.user - this.last.user + (now.system - this.last.system);
    if (used > this.worstUs) this.worstUs = used;
    this.last = now;
  }, 1);

  reset(): void {
    this.worstUs = 0;
    this.last = process.threadCpuUsage();
  }

  get worstMs(): number {
    return Math.round(this.worstUs / 100) / 10;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Conditions enough to make a searchset of at most `bytes`. */
function bundleOf(bytes: number): string {
  const one = JSON.stringify({ resource: condition(99_999) }).length + 1;
  let n = Math.floor(bytes / one);
  let text = JSON.stringify(searchset(Array.from({ length: n }, (_, i) => condition(i))));
  while (text.length > bytes) text = JSON.stringify(searchset(Array.from({ length: (n = Math.floor(n * 0.98)) }, (_, i) => condition(i))));
  return text;
}

/** The service's limit variables as this process was given them (the rest at their defaults). */
const LIMIT_VARIABLES = ['BODY_LIMIT_BYTES', 'FHIR_MAX_RESPONSE_BYTES', 'FHIR_MAX_CALL_BYTES', 'MAX_RESOURCES_PER_KEY', 'MAX_RESOURCES_PER_CALL', 'MAX_CODINGS_PER_ELEMENT', 'MAX_NAME_TEXT_LENGTH', 'JSON_MAX_DEPTH'];
const limitEnv: Record<string, string> = Object.fromEntries(LIMIT_VARIABLES.flatMap((v) => (process.env[v] ? [[v, process.env[v]]] : [])));

async function main(): Promise<void> {
  const config = loadConfig({ NODE_ENV: 'test', ...limitEnv }, SPINE_CDS);
  const bodyCap = config.bodyLimitBytes;
  const responseCap = config.limits.maxResponseBytes;
  const counter = { written: 0 };
  let closed: () => void = () => undefined;
  // Under the cap by a margin: the chunked transfer and the searchset's own wrapping add a little.
  const underCap = bundleOf(responseCap - 64 * 1024);
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
  const svc = await startService({ FHIR_SERVER_ALLOWLIST: `${new URL(fhir.baseUrl).origin},${new URL(endlessServer.baseUrl).origin}`, LOG_LEVEL: 'warn', ...limitEnv });
  const url = `${svc.baseUrl}/cds-services/spine-cds-patient-view`;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const cpu = new LoopCpuMeter();

  const fetchOnly = (): Record<string, unknown> => {
    const prefetch = fullPrefetch({}, PATIENT);
    delete prefetch.conditions;
    return prefetch;
  };
  // The largest body of each hostile shape the body cap lets in (a bigger one is refused 413 unread).
  const withCodings = (n: number): string => {
    const codings = Array.from({ length: n }, (_, i) => ({ system: 'http://example.org/junk', code: `j${i}`, display: `junk display ${i}` }));
    return JSON.stringify(patientViewRequest({ prefetch: fullPrefetch({ conditions: searchset([condition(0, { code: { coding: codings } })]) }, PATIENT) }, PATIENT));
  };
  const withConditions = (n: number): string => {
    const tiny = Array.from({ length: n }, (_, i) => ({ resourceType: 'Condition', id: `t${i}`, code: { text: 'Hypertension' }, recordedDate: '2020-01-01' }));
    return JSON.stringify(patientViewRequest({ prefetch: fullPrefetch({ conditions: searchset(tiny as FhirResource[]) }, PATIENT) }, PATIENT));
  };
  const largestUnder = (make: (n: number) => string, probe: number): { body: string; n: number } => {
    const perItem = (make(probe).length - make(0).length) / probe;
    let n = Math.floor((bodyCap - 16 * 1024 - make(0).length) / perItem);
    let body = make(n);
    // Items grow with their index (ids, codes): shrink until the body fits.
    while (body.length > bodyCap - 16 * 1024) body = make((n = Math.floor(n * 0.98)));
    return { body, n };
  };
  const manyCodings = largestUnder(withCodings, 1000);
  const manyResources = largestUnder(withConditions, 1000);
  const issueCodings = withCodings(80_000);
  const realistic = hookRequest(200).body;

  const cases: Array<{ name: string; bodies: string[] }> = [
    { name: 'realistic record, 200 resources (prefetched)', bodies: [realistic] },
    { name: `the issue's 80,000 codings on one Condition (${(issueCodings.length / MB).toFixed(1)} MB prefetch)`, bodies: [issueCodings] },
    { name: `${manyCodings.n.toLocaleString('en')} codings on one Condition (${(manyCodings.body.length / MB).toFixed(2)} MB prefetch, just under the body cap)`, bodies: [manyCodings.body] },
    { name: 'the same, four at once', bodies: [manyCodings.body, manyCodings.body, manyCodings.body, manyCodings.body] },
    { name: `${manyResources.n.toLocaleString('en')} Conditions prefetched (${(manyResources.body.length / MB).toFixed(2)} MB, just under the body cap)`, bodies: [manyResources.body] },
    { name: `a ${(underCap.length / MB).toFixed(1)} MB Condition searchset from the FHIR server (under the cap)`, bodies: [JSON.stringify(patientViewRequest({ prefetch: fetchOnly(), fhirServer: fhir.baseUrl }, PATIENT))] },
    { name: 'an endless Condition searchset from the FHIR server', bodies: [JSON.stringify(patientViewRequest({ prefetch: fetchOnly(), fhirServer: endlessServer.baseUrl }, PATIENT))] },
  ];
  // The machines are shared: each case runs REPEAT times (default 3), the first warming the code
  // paths up; the median and the maximum of the worst block are reported.
  const repeat = Number(process.env.REPEAT ?? 3);
  const results: Array<Record<string, unknown>> = [];
  const summary = (xs: number[]): { median: number; max: number; all: number[] } => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]!, all: xs };
  };
  for (const c of cases) {
    const blocks: number[] = [];
    const cpuBlocks: number[] = [];
    let statuses: number[] = [];
    for (let r = 0; r < repeat; r++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      h.reset();
      cpu.reset();
      statuses = await Promise.all(
        c.bodies.map(async (body) => {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      blocks.push(Math.round(h.max / 1e6));
      cpuBlocks.push(cpu.worstMs);
    }
    results.push({ case: c.name, statuses, worstLoopBlockMs: { cpu: summary(cpuBlocks), wall: summary(blocks) } });
  }
  cpu.stop();
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
        limits: { bodyLimitBytes: bodyCap, maxResponseBytes: responseCap, maxCallBytes: config.limits.maxCallBytes },
        results,
        endless: { serviceReadMB: Number(((aborted?.missing?.[0]?.bytesRead ?? NaN) / MB).toFixed(2)), serverWroteMBPerAbort: Number((counter.written / repeat / MB).toFixed(2)), capMB: Number((responseCap / MB).toFixed(2)) },
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
