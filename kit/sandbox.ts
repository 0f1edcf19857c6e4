/**
 * `npm run sandbox [-- --port 3000 --fhir-port 8080 --no-external --require-token <t> --verbose]`
 *
 * A local CDS Hooks sandbox in one process group: the in-memory FHIR R4 server (in this process),
 * loaded with the demo patients and the external fixtures (STU3 converted), and the CDS service
 * (src/main.ts) as a child process pointed at it. Prints the URLs, the patients and example `fire`
 * commands. Ctrl-C or SIGTERM stops everything. The FHIR server uses @medplum/core, which needs the
 * global WebSocket (built into Node 22+; the npm script's --experimental-websocket is for older Nodes).
 */
import { parseArgs } from 'node:util';
import { createFhirServer, listen } from './fhir-server/server.js';
import { startCdsService, type RunningCdsService } from './sandbox/cds-service.js';
import { loadDemoPatients, loadExternalFixtures } from './sandbox/load.js';
import { formatServiceLog } from './sandbox/log-line.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    'fhir-port': { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    'no-external': { type: 'boolean', default: false },
    'require-token': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
  strict: true,
});

const token = values['require-token'];
const fhirServer = createFhirServer(token !== undefined ? { requireToken: token } : {});
let cds: RunningCdsService | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await cds?.stop().catch(() => undefined);
    fhirServer.closeAllConnections();
    await new Promise<void>((resolve) => fhirServer.close(() => resolve()));
  }
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

// `npm run sandbox --verbose` (without `--`) reaches npm, not this script: npm turns it into its own
// log level, which it passes on as npm_config_loglevel. Both spellings mean the same here.
const verbose = values.verbose || process.env.npm_config_loglevel === 'verbose';

/** Service log lines are pino JSON: warnings and errors, and with --verbose every request's summary. */
function showServiceLog(line: string): void {
  const shown = formatServiceLog(line, verbose);
  if (shown !== undefined) process.stderr.write(`${shown}\n`);
}

async function main(): Promise<void> {
  const fhirBase = await listen(fhirServer, Number(values['fhir-port']), values.host);
  const fhirOrigin = new URL(fhirBase).origin;
  say(`FHIR R4 server (in memory): ${fhirBase}${token !== undefined ? '  (requires Authorization: Bearer <token>)' : ''}`);

  const demo = await loadDemoPatients(fhirBase, new Date(), token);
  const external = values['no-external'] ? [] : await loadExternalFixtures(fhirBase, token);
  say(`loaded ${demo.length} demo patients${values['no-external'] ? '' : ` and ${external.length} external fixture patients`}`);

  cds = await startCdsService({
    fhirOrigins: [fhirOrigin],
    port: Number(values.port),
    host: values.host,
    // Its own feedback store, so a sandbox never writes into a development service's database.
    env: { DATABASE_URL: process.env.DATABASE_URL ?? 'sqlite:./data/sandbox.db' },
    onLog: showServiceLog,
  });
  void cds.exited.then((code) => {
    if (stopping) return;
    process.stderr.write(`CDS service exited unexpectedly (code ${code}); stopping the sandbox\n`);
    void shutdown(1);
  });

  const tokenArg = token !== undefined ? ` --token ${token}` : '';
  const fire = (patient: string, hook: string, extra = '') =>
    `npm run fire -- --fhir ${fhirBase} --service ${cds?.baseUrl} --patient ${patient} --hook ${hook}${extra}${tokenArg}`;
  say(`CDS service: ${cds.baseUrl}/cds-services  (CDS_AUTH=off, FHIR_SERVER_ALLOWLIST=${fhirOrigin})`);
  say();
  say('Demo patients (hand-made, one per card topic; expected cards per hook in kit/demo-patients/patients/*.json):');
  for (const p of demo) say(`  ${p.id.padEnd(32)} ${p.title}`);
  if (external.length > 0) {
    say();
    say('External fixture patients (public test data in test/fixtures/external; sources and licences in its README):');
    for (const p of external) say(`  ${p.id.padEnd(40)} ${p.source.padEnd(15)} ${p.name}`);
  }
  say();
  say('Try:');
  say(`  ${fire('demo-cauda-equina', 'patient-view')}`);
  say(`  ${fire('demo-early-sciatica', 'order-select', ' --order lumbar-mri')}`);
  say(`  ${fire('demo-arm-and-leg', 'order-sign', ' --order cervical-mri --no-prefetch')}`);
  say(`  ${external.length > 0 ? fire('smart-981968', 'patient-view', ' --json') : fire('demo-no-back-data', 'order-sign', ' --order lumbar-mri --json')}`);
  say();
  say('Ctrl-C stops the FHIR server and the CDS service.');
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox: ${(err as Error).message}\n`);
  void shutdown(1);
});
