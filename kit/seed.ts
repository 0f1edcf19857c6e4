/**
 * `npm run seed -- --fhir <base> [--token <bearer>]`: uploads the demo patients (kit/demo-patients)
 * with their dates resolved against today. Every resource is a PUT with a stable id, so seeding
 * twice leaves one copy. A server that is down or refuses gets one error line and exit code 1.
 */
import { parseArgs } from 'node:util';
import { loadDemoPatients } from './sandbox/load.js';
import { runCli } from './cli.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { fhir: { type: 'string' }, token: { type: 'string' } },
    strict: true,
  });
  if (!values.fhir) {
    process.stderr.write('seed: --fhir <FHIR base URL> is required\nusage: npm run seed -- --fhir <base> [--token <bearer>]\n');
    return 2;
  }
  const patients = await loadDemoPatients(values.fhir, new Date(), values.token);
  for (const p of patients) process.stdout.write(`${p.id.padEnd(32)} ${p.title}\n`);
  process.stdout.write(`seeded ${patients.length} demo patients into ${values.fhir}\n`);
  return 0;
}

runCli('seed', main);
