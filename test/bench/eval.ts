/**
 * Evaluation micro-benchmark: all mappings over patient records of 200, 2,000 and 20,000 resources,
 * in one run (`npm run bench:eval`). Targets (issue 3): median <= 10 ms at 2,000 resources, and
 * 20,000 resources <= 12 x the time of 2,000 (no worse than linear).
 *
 * Two record shapes: `chart` is the shared synthetic chart of test/bench/workload.ts (mostly vitals
 * and labs the rules never read); `dense` makes every Observation one the mappings read, with a
 * valid unit and a date in the windows, the worst case for the per-candidate FHIRPath work.
 */
import type { FhirResource, Observation } from 'fhir/r4';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordFromResources } from '../../src/data/record-builder.js';
import { evaluateFindings, loadMappings } from '../../src/findings/index.js';
import { syntheticRecord } from './workload.js';

const SIZES = [200, 2_000, 20_000] as const;
const NOW = new Date();
const DAY = 86_400_000;

function dense(size: number): FhirResource[] {
  const units: Record<string, string> = { '8310-5': 'Cel', '29463-7': 'kg', '72514-3': '{score}', '4537-7': 'mm/h', '1988-5': 'mg/L' };
  const codes = Object.keys(units);
  return syntheticRecord(size, 'bench-1', NOW).map((r, i) => {
    if (r.resourceType !== 'Observation') return r;
    const code = codes[i % codes.length] as string;
    const o: Observation = {
      ...r,
      code: { coding: [{ system: 'http://loinc.org', code }] },
      effectiveDateTime: new Date(NOW.getTime() - (i % 300) * DAY).toISOString(),
      valueQuantity: { value: 5 + (i % 40), system: 'http://unitsofmeasure.org', code: units[code] as string, unit: units[code] as string },
    };
    return o;
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] as number;

async function main(): Promise<void> {
  const mappingsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'mappings');
  const t0 = performance.now();
  const mappings = await loadMappings(mappingsDir);
  console.log(`loadMappings: ${(performance.now() - t0).toFixed(1)} ms (${mappings.definitions.length} findings, ${mappings.expressions.size} FHIRPath expressions)`);
  let failed = false;
  for (const [shape, make] of [['chart', (n: number) => syntheticRecord(n, 'bench-1', NOW)], ['dense', dense]] as const) {
    const medians = new Map<number, number>();
    for (const size of SIZES) {
      const record = recordFromResources(make(size), 'bench-1');
      const iterations = size >= 20_000 ? 30 : size >= 2_000 ? 200 : 1_000;
      for (let i = 0; i < Math.min(50, iterations); i++) evaluateFindings(mappings, record, NOW);
      const times: number[] = [];
      let present = 0;
      for (let i = 0; i < iterations; i++) {
        const t = performance.now();
        const r = evaluateFindings(mappings, record, NOW);
        times.push(performance.now() - t);
        present = Object.values(r.findings).filter((f) => f.state === 'present').length;
      }
      medians.set(size, median(times));
      console.log(
        `${shape.padEnd(5)} ${String(size).padStart(6)} resources: median ${median(times).toFixed(2)} ms, p95 ${p95(times).toFixed(2)} ms over ${iterations} runs (${present} findings present)`,
      );
    }
    const m2k = medians.get(2_000) as number;
    const ratio = (medians.get(20_000) as number) / m2k;
    const ok = m2k <= 10 && ratio <= 12;
    if (!ok) failed = true;
    console.log(`${shape.padEnd(5)} 2,000: ${m2k.toFixed(2)} ms (target <= 10); 20,000 / 2,000 = ${ratio.toFixed(1)} x (target <= 12) -> ${ok ? 'PASS' : 'FAIL'}`);
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
