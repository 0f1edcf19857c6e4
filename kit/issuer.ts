/**
 * `npm run issuer -- --out <dir> [--iss http://127.0.0.1/spine-cds-kit]`
 *
 * Makes a test EHR issuer for trying the service with CDS_AUTH=required: an ES384 key pair, written
 * as <dir>/signer.json (the private key, for `npm run fire -- --signer`; file mode 0600) and
 * <dir>/issuers.json (the public key inline, for CDS_ISSUERS). Refuses to overwrite either file.
 * Keep <dir> outside the repository; a key made here is for development only.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createIssuer } from './ehr/signer.js';
import { runCli } from './cli.js';

const DEFAULT_ISS = 'http://127.0.0.1/spine-cds-kit';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, iss: { type: 'string', default: DEFAULT_ISS } },
    strict: true,
  });
  if (!values.out) {
    process.stderr.write('issuer: --out <dir> is required\nusage: npm run issuer -- --out <dir> [--iss <issuer URL>]\n');
    return 2;
  }
  const { signer, issuers } = await createIssuer(values.iss);
  mkdirSync(values.out, { recursive: true });
  const signerFile = path.resolve(values.out, 'signer.json');
  const issuersFile = path.resolve(values.out, 'issuers.json');
  // 'wx': never overwrite a key somebody may already have given a service.
  writeFileSync(signerFile, `${JSON.stringify(signer, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  writeFileSync(issuersFile, `${JSON.stringify(issuers, null, 2)}\n`, { flag: 'wx' });
  process.stdout.write(
    `issuer ${signer.iss} (kid ${String(signer.jwk.kid)})\n` +
      `  private key: ${signerFile}\n  issuers file: ${issuersFile}\n\n` +
      `Run the service with it:\n` +
      `  CDS_AUTH=required CDS_ISSUERS=${issuersFile} PUBLIC_BASE_URL=http://127.0.0.1:3000 npm start\n` +
      `and call it:\n` +
      `  npm run fire -- --signer ${signerFile} --fhir <base> --patient <id> --hook patient-view\n`,
  );
  return 0;
}

runCli('issuer', main);
