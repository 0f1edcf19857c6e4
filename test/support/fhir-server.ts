import type { Bundle } from 'fhir/r4';
import { postBundle } from '../../kit/fhir/client.js';
import { spawnFhirServer } from '../../kit/fhir-server/spawn.js';

/**
 * A real FHIR R4 server on loopback for integration tests (kit/fhir-server, a child process on a
 * free port). Start it in `beforeAll`, stop it in `afterAll`.
 */
export async function startFhirServer(opts: { requireToken?: string } = {}): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const server = await spawnFhirServer(opts.requireToken !== undefined ? { requireToken: opts.requireToken } : {});
  return { baseUrl: server.baseUrl, stop: server.stop };
}

/** POSTs a transaction or batch bundle to the server; throws if the server or any entry refuses it. */
export async function loadBundle(baseUrl: string, bundle: Bundle, token?: string): Promise<void> {
  await postBundle(baseUrl, bundle, token);
}
