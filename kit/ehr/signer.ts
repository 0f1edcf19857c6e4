import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

/**
 * The mock EHR's side of CDS Hooks 2.0 §Trusting CDS Clients: a test issuer whose key pair the kit
 * makes (`npm run issuer`), so `fire` can call a service that runs with CDS_AUTH=required. The
 * private key stays in the signer file on the integrator's machine; the service is given only the
 * public half, inline in an issuers file.
 */

/** ES384: the algorithm the spec's examples and the public sandbox use. */
const ALG = 'ES384';
/** Tokens live 5 minutes, as the spec recommends; each call gets its own jti. */
const LIFETIME_S = 300;

/** The signer file: who the kit says it is, and its private key. */
export interface SignerFile {
  iss: string;
  jwk: JWK;
}

export interface Signer {
  iss: string;
  /** A fresh JWT for one request to `url` (its `aud`: the exact URL called, without a query). */
  tokenFor(url: string): Promise<string>;
}

export class SignerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignerError';
  }
}

/** A new issuer: the signer file (private) and the issuers-file entry the service trusts (public). */
export async function createIssuer(iss: string): Promise<{ signer: SignerFile; issuers: Array<{ iss: string; jwks: { keys: JWK[] }; description: string }> }> {
  if (!URL.canParse(iss)) throw new SignerError(`--iss must be a URL (the service compares it exactly with the token's iss): ${iss}`);
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const publicJwk: JWK = { ...pub, kid, alg: ALG, use: 'sig' };
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: ALG, use: 'sig' };
  return {
    signer: { iss, jwk: privateJwk },
    issuers: [{ iss, jwks: { keys: [publicJwk] }, description: 'spine-cds integration kit test issuer (npm run issuer); development only' }],
  };
}

export async function loadSigner(file: string): Promise<Signer> {
  let parsed: Partial<SignerFile>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<SignerFile>;
  } catch (err) {
    throw new SignerError(`cannot read signer file ${file}: ${(err as Error).message}`);
  }
  const { iss, jwk } = parsed;
  if (typeof iss !== 'string' || !jwk || typeof jwk !== 'object' || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string') {
    throw new SignerError(`${file} is not a signer file: it needs "iss" and a private "jwk" with a "kid" (make one with npm run issuer)`);
  }
  const alg = jwk.alg ?? ALG;
  const key = await importJWK(jwk, alg);
  const kid = jwk.kid;
  return {
    iss,
    tokenFor: (url) => {
      const u = new URL(url);
      return new SignJWT({})
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setIssuer(iss)
        .setSubject(iss)
        .setAudience(`${u.origin}${u.pathname}`)
        .setIssuedAt()
        .setExpirationTime(`${LIFETIME_S}s`)
        .setJti(randomUUID())
        .sign(key);
    },
  };
}
