import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/**
 * Test helpers for the JWT checks: keys generated per run (never committed), a token minter that can
 * build malformed and hostile tokens as easily as valid ones, and a JWKS server on loopback.
 */

export interface TestKey {
  alg: 'ES384' | 'RS384' | 'ES256' | 'RS256';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: TestKey['alg'], kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk };
}

export const b64url = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url');

export interface MintOptions {
  key: TestKey;
  iss: string;
  aud: string | string[];
  /** Header fields to add or override (alg, kid, jku, typ…); `undefined` removes one. */
  header?: Record<string, unknown>;
  /** Claims to add or override; `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** Seconds since epoch the defaults are computed from. */
  nowSec?: number;
}

/** A CDS Hooks client JWT: typ JWT, kid, iss, aud, iat, exp (+5 min), jti, unless overridden. */
export async function mint(opts: MintOptions): Promise<string> {
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  const header = prune({ alg: opts.key.alg, typ: 'JWT', kid: opts.key.kid, ...opts.header });
  const claims = prune({ iss: opts.iss, aud: opts.aud, iat: now, exp: now + 300, jti: randomUUID(), ...opts.claims });
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(opts.key.privateKey);
}

/** `alg: none`: a header and claims with an empty signature. */
export function unsigned(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ ...header, alg: 'none' }))}.${b64url(JSON.stringify(claims))}.`;
}

/** The classic key-confusion attack: HS256 "signed" with the issuer's public key as the HMAC secret. */
export async function hmacWithPublicKey(key: TestKey, claims: Record<string, unknown>): Promise<string> {
  const { createHmac } = await import('node:crypto');
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: key.kid }));
  const body = b64url(JSON.stringify(claims));
  const secret = JSON.stringify(key.publicJwk);
  const sig = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${sig}`;
}

function prune(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** A JWKS endpoint on 127.0.0.1 that counts its hits; its key set can change (rotation). */
export interface JwksServer {
  url: string;
  hits(): number;
  setKeys(keys: JWK[]): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[], path = '/.well-known/jwks.json'): Promise<JwksServer> {
  let current = keys;
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    if (req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: current }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    hits: () => hits,
    setKeys: (k) => {
      current = k;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a CDS_ISSUERS file into a fresh temporary directory; `cleanup` removes it. */
export async function writeIssuersFile(content: unknown): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'spine-cds-issuers-'));
  const file = join(dir, 'issuers.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return { file, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
