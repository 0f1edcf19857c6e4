/**
 * npm run bench — the service against a bare-Fastify baseline on loopback, with autocannon.
 * Speed is reported, never asserted: figures go to the closing note and test/bench/README.md.
 *   BENCH_SECONDS (default 10) per run, BENCH_CONNECTIONS (default 10).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { hookRequest } from './workload.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SIZES = [10, 200, 2000];
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

interface Target {
  url: string;
  child: ChildProcess;
}

type Mode = 'service' | 'stack' | 'baseline';

async function start(mode: Mode, canned?: string): Promise<Target> {
  const child = fork(path.join(here, 'server-child.ts'), [mode, ...(canned ? [canned] : [])], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/cds-services/spine-cds-patient-view`, child };
}

async function stop(target: Target): Promise<void> {
  target.child.kill('SIGTERM');
  await new Promise((r) => target.child.once('exit', r));
}

async function load(url: string, body: string, duration: number): Promise<autocannon.Result> {
  return autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration });
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

interface Row {
  resources: number;
  prefetchKB: number;
  recordKB: number;
  baseline: Figures;
  stack: Figures;
  service: Figures;
}

/** Warm-up (JIT, SQLite), then the measured run. */
async function measure(target: Target, body: string): Promise<Figures> {
  await load(target.url, body, 2);
  const r = await load(target.url, body, seconds);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const size of SIZES) {
    const { body, recordBytes, prefetchBytes } = hookRequest(size);
    const service = await start('service');
    // The canned response is the service's real answer to this body, so all three send the same bytes.
    const answer = await (await fetch(service.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text();
    const s = await measure(service, body);
    await stop(service);

    const stack = await start('stack');
    const k = await measure(stack, body);
    await stop(stack);

    const baseline = await start('baseline', answer);
    const b = await measure(baseline, body);
    await stop(baseline);

    rows.push({
      resources: size,
      prefetchKB: Math.round(prefetchBytes / 102.4) / 10,
      recordKB: Math.round(recordBytes / 102.4) / 10,
      baseline: b,
      stack: k,
      service: s,
    });
  }

  const ratio = (a: number, b: number): string => (a / b).toFixed(2);
  console.log(`\nspine-cds service vs bare Fastify baseline — ${connections} connections, ${seconds} s per run, loopback, compiled build\n`);
  console.log(
    '| record resources | record KB | prefetch sent KB | baseline req/s | service req/s | ratio req/s | baseline p50/p99 ms | service p50/p99 ms | p99 ratio | stack req/s | stack ratio | service non-2xx |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.resources} | ${r.recordKB} | ${r.prefetchKB} | ${r.baseline.rps.toFixed(0)} | ${r.service.rps.toFixed(0)} | ${ratio(r.service.rps, r.baseline.rps)} | ` +
        `${r.baseline.p50}/${r.baseline.p99} | ${r.service.p50}/${r.service.p99} | ${ratio(r.service.p99, Math.max(r.baseline.p99, 1))} | ` +
        `${r.stack.rps.toFixed(0)} | ${ratio(r.stack.rps, r.baseline.rps)} | ${r.service.non2xx + r.stack.non2xx} |`,
    );
  }
  console.log('\nTargets: ratio req/s >= 0.6 and service p99 <= 1.5 x baseline p99 at every size.');
  console.log('"stack" is the service with findings, rules and cards answered from a cache: the ceiling for the ratio.');
  console.log(JSON.stringify({ connections, seconds, rows }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
