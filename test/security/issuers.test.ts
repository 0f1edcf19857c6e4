import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIssuersFile } from '../../src/auth/issuers.js';
import { makeKey, writeIssuersFile, type TestKey } from './support.js';

let rs: TestKey;
let ec: TestKey;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  [rs, ec] = await Promise.all([makeKey('RS384'), makeKey('ES384')]);
});
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function fileWith(content: unknown): Promise<string> {
  const { file, cleanup } = await writeIssuersFile(content);
  cleanups.push(cleanup);
  return file;
}

const dev = { production: false };
const prod = { production: true };

describe('CDS_ISSUERS file', () => {
  it('loads inline-JWKS and JWKS-URL issuers with tenants', async () => {
    const file = await fileWith([
      { iss: 'https://epic.example', jwks: { keys: [rs.publicJwk] }, description: 'Epic-style, RS384' },
      { iss: 'https://oracle.example', jwks_url: 'https://oracle.example/jwks', tenants: ['t1'] },
    ]);
    const issuers = await loadIssuersFile(file, prod);
    expect(issuers).toEqual([
      { iss: 'https://epic.example', jwks: { keys: [rs.publicJwk] } },
      { iss: 'https://oracle.example', jwksUrl: 'https://oracle.example/jwks', tenants: ['t1'] },
    ]);
  });

  it('loads an issuer with pinned keys and a jwks_url (the jku it may send)', async () => {
    const file = await fileWith([{ iss: 'https://sandbox.example', jwks: { keys: [ec.publicJwk] }, jwks_url: 'https://sandbox.example/jwks.json' }]);
    expect(await loadIssuersFile(file, prod)).toEqual([
      { iss: 'https://sandbox.example', jwksUrl: 'https://sandbox.example/jwks.json', jwks: { keys: [ec.publicJwk] } },
    ]);
  });

  const broken: Array<[string, () => unknown, RegExp]> = [
    ['not JSON', () => '[{', /not valid JSON/],
    ['an object instead of an array', () => ({ iss: 'x' }), /expected a JSON array/i],
    ['no issuers', () => [], /lists no issuers/],
    ['neither key source', () => [{ iss: 'a' }], /\[0\].*give "jwks" \(pinned keys\), "jwks_url", or both/],
    ['both key sources with a broken jwks_url', () => [{ iss: 'a', jwks_url: 'ftp://a/jwks', jwks: { keys: [rs.publicJwk] } }], /jwks_url/],
    ['a misspelt field', () => [{ iss: 'a', jwksUrl: 'https://a/jwks' }], /jwksUrl/],
    ['a key without kid', () => [{ iss: 'a', jwks: { keys: [{ ...ec.publicJwk, kid: undefined }] } }], /\[0\]\.jwks\.keys\[0\]\.kid/],
    ['a symmetric key', () => [{ iss: 'a', jwks: { keys: [{ kty: 'oct', kid: 'k', k: 'c2VjcmV0' }] } }], /symmetric/],
    ['a private key', () => [{ iss: 'a', jwks: { keys: [{ ...ec.publicJwk, d: 'AAAA' }] } }], /private key material/],
    ['a short RSA key', () => [{ iss: 'a', jwks: { keys: [{ ...rs.publicJwk, n: 'AQAB', kid: 'k' }] } }], /kid "k".*shorter than 2048 bits/],
    ['a broken EC key', () => [{ iss: 'a', jwks: { keys: [{ ...ec.publicJwk, x: 'AAAA', kid: 'k' }] } }], /kid "k".*not a usable public key/],
    ['a duplicate iss', () => [{ iss: 'a', jwks: { keys: [ec.publicJwk] } }, { iss: 'a', jwks: { keys: [rs.publicJwk] } }], /"a" is listed twice/],
    ['an empty tenants list', () => [{ iss: 'a', jwks: { keys: [ec.publicJwk] }, tenants: [] }], /tenants/],
    ['a non-http jwks_url', () => [{ iss: 'a', jwks_url: 'file:///etc/passwd' }], /jwks_url/],
  ];

  it.each(broken)('refuses %s, naming the file and the problem', async (_name, content, problem) => {
    const file = await fileWith(content());
    const err = await loadIssuersFile(file, dev).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(problem);
  });

  it('refuses a missing file, naming it', async () => {
    await expect(loadIssuersFile('/nonexistent/issuers.json', dev)).rejects.toThrow(/CDS_ISSUERS file \/nonexistent\/issuers\.json: file not found/);
  });

  it('refuses an http jwks_url in production only', async () => {
    const file = await fileWith([{ iss: 'a', jwks_url: 'http://127.0.0.1:9/jwks' }]);
    await expect(loadIssuersFile(file, dev)).resolves.toHaveLength(1);
    await expect(loadIssuersFile(file, prod)).rejects.toThrow(/must be https in production/);
  });
});
