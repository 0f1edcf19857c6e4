/**
 * `npm run fire -- --fhir <base> --patient <id> --hook patient-view|order-select|order-sign
 *    [--service http://127.0.0.1:3000] [--order lumbar-mri|cervical-mri|lumbar-xray]
 *    [--token <bearer for the FHIR server>] [--user Practitioner/<id>] [--no-prefetch] [--json]
 *    [--signer <signer.json from npm run issuer>]`
 *
 * Acts as the EHR: discovers the service for the hook, runs its prefetch templates against the FHIR
 * server (unless --no-prefetch, when the service fetches for itself), places one draft order for
 * order hooks, calls the service and prints the cards. Exit 1 on any failure or non-200 answer.
 * With --signer, discovery and the call carry a signed JWT, for a service with CDS_AUTH=required.
 */
import { parseArgs } from 'node:util';
import { DEMO_ORDER_KEYS, type DemoOrderKey } from './demo-patients/index.js';
import { buildHookRequest, callService, discoverServices, serviceForHook, withPrefetch, type Hook } from './ehr/hook-request.js';
import { formatCdsResponse } from './ehr/print-cards.js';
import { loadSigner } from './ehr/signer.js';
import type { CdsResponse } from '../src/cards/types.js';
import { runCli } from './cli.js';

const HOOKS: readonly Hook[] = ['patient-view', 'order-select', 'order-sign'];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      fhir: { type: 'string' },
      patient: { type: 'string' },
      hook: { type: 'string' },
      service: { type: 'string', default: 'http://127.0.0.1:3000' },
      order: { type: 'string' },
      token: { type: 'string' },
      user: { type: 'string' },
      'no-prefetch': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      signer: { type: 'string' },
    },
    strict: true,
  });
  if (!values.fhir || !values.patient || !values.hook) {
    return usage('--fhir, --patient and --hook are required');
  }
  if (!HOOKS.includes(values.hook as Hook)) return usage(`--hook must be one of ${HOOKS.join(', ')}`);
  const hook = values.hook as Hook;
  if (values.order !== undefined && !DEMO_ORDER_KEYS.includes(values.order as DemoOrderKey)) {
    return usage(`--order must be one of ${DEMO_ORDER_KEYS.join(', ')}`);
  }
  const order = (values.order as DemoOrderKey | undefined) ?? (hook === 'patient-view' ? undefined : 'lumbar-mri');

  const signer = values.signer ? await loadSigner(values.signer) : undefined;
  const service = serviceForHook(await discoverServices(values.service, signer), hook);
  let request = buildHookRequest({
    hook,
    patientId: values.patient,
    fhirServer: values.fhir,
    ...(order ? { order } : {}),
    ...(values.token ? { token: values.token } : {}),
    ...(values.user ? { userId: values.user } : {}),
  });
  if (!values['no-prefetch']) {
    const prefetched = await withPrefetch(request, service, values.token);
    request = prefetched.request;
    for (const f of prefetched.failures) process.stderr.write(`prefetch ${f.key} left out: ${f.reason}\n`);
  }

  const response = await callService(values.service, service.id, request, signer);
  if (values.json) {
    process.stdout.write(`${response.text}\n`);
  } else {
    const how = values['no-prefetch'] ? 'no prefetch (service reads the FHIR server)' : `prefetch: ${Object.keys(request.prefetch ?? {}).join(', ') || 'none'}`;
    process.stdout.write(`${hook} -> ${service.id} for Patient/${values.patient}${order ? `, draft ${order}` : ''}; ${how}\n`);
    if (response.status === 200) process.stdout.write(`${formatCdsResponse(response.body as CdsResponse)}\n`);
  }
  if (response.status !== 200) {
    process.stderr.write(`fire: ${service.id} answered HTTP ${response.status}: ${response.text.slice(0, 2000)}\n`);
    return 1;
  }
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(
    `fire: ${problem}\nusage: npm run fire -- --fhir <base> --patient <id> --hook ${HOOKS.join('|')} ` +
      `[--service <url>] [--order ${DEMO_ORDER_KEYS.join('|')}] [--token <t>] [--no-prefetch] [--json] [--signer <signer.json>]\n`,
  );
  return 2;
}

runCli('fire', main);
