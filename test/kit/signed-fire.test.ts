import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureOf, freePort, runScript as tsx, startServiceProcess, type ServiceProcess } from '../support/process.js';
import { patient, searchset } from '../support/requests.js';
import { sendJson, startStubServer, type StubServer } from '../support/stub-servers.js';

/**
 * The kit against a service that requires the EHR's JWT: `npm run issuer` makes a test issuer,
 * the service trusts its public key (CDS_ISSUERS), and `fire --signer` signs discovery and the call
 * with real ES384 signatures the service verifies.
 */

let dir: string;
let fhir: StubServer;
let svc: ServiceProcess;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'spine-cds-issuer-'));
  await tsx('kit/issuer.ts', ['--out', dir]);
  fhir = await startStubServer((req, res) => {
    if (req.url?.includes('/Patient/')) sendJson(res, 200, patient('p1'));
    else sendJson(res, 200, searchset());
  });
  const port = await freePort();
  svc = await startServiceProcess(
    {
      CDS_AUTH: 'required',
      CDS_ISSUERS: path.join(dir, 'issuers.json'),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: `sqlite:${path.join(dir, 'cards.db')}`,
    },
    30_000,
    port,
  );
}, 60_000);

afterAll(async () => {
  svc?.child.kill('SIGTERM');
  await svc?.exited;
  await fhir?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run issuer and fire --signer', () => {
  it('writes a private signer file only its owner can read, and an issuers file with only the public key', () => {
    const signerFile = path.join(dir, 'signer.json');
    expect(statSync(signerFile).mode & 0o077).toBe(0);
    const signer = JSON.parse(readFileSync(signerFile, 'utf8')) as { iss: string; jwk: { d?: string; kid?: string } };
    expect(signer.jwk.d).toBeTypeOf('string');
    const issuers = JSON.parse(readFileSync(path.join(dir, 'issuers.json'), 'utf8')) as Array<{ iss: string; jwks: { keys: Array<{ d?: string; kid?: string }> } }>;
    expect(issuers).toHaveLength(1);
    expect(issuers[0]?.iss).toBe(signer.iss);
    expect(issuers[0]?.jwks.keys.map((k) => [k.kid, 'd' in k])).toEqual([[signer.jwk.kid, false]]);
  });

  it('fire with the signer is let in by a service that requires JWTs; without it, it is refused', async () => {
    const args = ['--fhir', fhir.baseUrl, '--service', svc.baseUrl, '--patient', 'p1', '--hook', 'patient-view', '--json'];
    const { stdout } = await tsx('kit/fire.ts', [...args, '--signer', path.join(dir, 'signer.json')]);
    expect(JSON.parse(stdout)).toHaveProperty('cards');

    const refused = await failureOf(tsx('kit/fire.ts', args));
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/answered 401/);
  });

  it('never overwrites an existing key', async () => {
    const again = await failureOf(tsx('kit/issuer.ts', ['--out', dir]));
    expect(again?.code).toBe(1);
    expect(again?.stderr).toMatch(/EEXIST|already exists/);
  });
});
