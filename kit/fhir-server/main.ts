/**
 * Test FHIR R4 server on loopback (in memory; data are lost on exit).
 *
 *   node --experimental-websocket --import tsx kit/fhir-server/main.ts \
 *     [--port 0] [--host 127.0.0.1] [--require-token <t>] [--page-size 20] [--log]
 *
 * When ready it prints exactly one JSON line on stdout, e.g.
 *   {"fhirBaseUrl":"http://127.0.0.1:41234/fhir"}
 * (port 0 picks a free port). Request logs, with --log, go to stderr as JSON lines.
 * SIGTERM or SIGINT closes the listener and exits 0.
 *
 * `--experimental-websocket` is needed on Node 20 only: @medplum/core 5.x references the global
 * WebSocket at load time (@medplum/core 5 expects Node 22.18+ or --experimental-websocket).
 */
import { parseArgs } from 'node:util';
import { createFhirServer, listen } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'require-token': { type: 'string' },
    'page-size': { type: 'string' },
    log: { type: 'boolean', default: false },
  },
  strict: true,
});

const port = Number(values.port);
const pageSize = values['page-size'] === undefined ? undefined : Number(values['page-size']);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port ${values.port}`);
if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1)) fail(`invalid --page-size ${values['page-size']}`);

const server = createFhirServer({
  ...(values['require-token'] !== undefined ? { requireToken: values['require-token'] } : {}),
  ...(pageSize !== undefined ? { defaultPageSize: pageSize } : {}),
  ...(values.log ? { onRequest: (entry) => process.stderr.write(`${JSON.stringify(entry)}\n`) } : {}),
});

try {
  const fhirBaseUrl = await listen(server, port, values.host);
  process.stdout.write(`${JSON.stringify({ fhirBaseUrl })}\n`);
} catch (err) {
  fail(`cannot listen on ${values.host}:${port}: ${(err as Error).message}`);
}

function shutdown(): void {
  server.close(() => process.exit(0));
  // Keep-alive connections would hold close() open; the data are in memory anyway.
  server.closeAllConnections();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

function fail(message: string): never {
  process.stderr.write(`fhir-server: ${message}\n`);
  process.exit(1);
}
