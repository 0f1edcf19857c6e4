import { readFile } from 'node:fs/promises';
import { importJWK, type JSONWebKeySet, type JWK } from 'jose';
import { z } from 'zod';

/**
 * The trusted EHR clients (CDS_ISSUERS): a JSON array of
 * `{ "iss", "jwks_url"? , "jwks"?, "tenants"?, "description"? }`, each with at least one key source.
 * With both, the inline `jwks` are the keys (nothing is fetched) and `jwks_url` only names the one `jku`
 * the issuer may send: clients such as the CDS Hooks Sandbox put `jku` in every header, and an operator
 * who pins their keys must still be able to admit them.
 * A broken file must stop startup with a message naming the file and the problem: a service that
 * silently trusts fewer (or more) EHRs than its operator wrote down is worse than one that does not start.
 */

/** Algorithms the service accepts (CDS Hooks 2.0 recommends ES384 and RS384; some EHRs sign with the 256 variants). */
export const ACCEPTED_ALGORITHMS = ['ES384', 'RS384', 'ES256', 'RS256'] as const;

const PublicJwk = z
  .looseObject({
    kty: z.enum(['RSA', 'EC'], { message: 'kty must be RSA or EC (symmetric "oct" keys are never trusted)' }),
    // Keys are selected by kid (CDS Hooks 2.0 §Trusting CDS Clients), so a key without one could never match.
    kid: z.string().min(1, 'kid is required'),
    use: z.literal('sig').optional(),
    alg: z.enum(ACCEPTED_ALGORITHMS).optional(),
  })
  .refine((k) => !('d' in k) && !('p' in k) && !('q' in k), {
    message: 'contains private key material ("d"/"p"/"q"); the trust file must hold public keys only',
  });

const IssuerEntry = z
  .strictObject({
    iss: z.string().min(1),
    jwks_url: z.url({ protocol: /^https?$/, message: 'jwks_url must be an http(s) URL' }).optional(),
    jwks: z.strictObject({ keys: z.array(PublicJwk).min(1, 'jwks.keys must list at least one key') }).optional(),
    tenants: z.array(z.string().min(1)).min(1, 'tenants, when present, must list at least one tenant').optional(),
    /** Free text for the operator (which EHR, who to call); ignored by the service. */
    description: z.string().optional(),
  })
  .refine((e) => e.jwks_url !== undefined || e.jwks !== undefined, {
    message: 'give "jwks" (pinned keys), "jwks_url", or both',
  });

const IssuersFile = z.array(IssuerEntry);

export interface TrustedIssuer {
  iss: string;
  /** The only accepted `jku`; also where the key set is fetched from when `jwks` is absent. */
  jwksUrl?: string;
  /** Pinned keys: when present they are the only keys used, and nothing is ever fetched. */
  jwks?: JSONWebKeySet;
  /** When present, the token's `tenant` must be one of these. */
  tenants?: string[];
}

export class IssuersFileError extends Error {
  constructor(file: string, problem: string) {
    super(`CDS_ISSUERS file ${file}: ${problem}`);
    this.name = 'IssuersFileError';
  }
}

export interface IssuerPolicy {
  /** In production a JWKS URL must be https: a key set fetched in clear text proves nothing. */
  production: boolean;
}

export async function loadIssuersFile(file: string, policy: IssuerPolicy): Promise<TrustedIssuer[]> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IssuersFileError(file, code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new IssuersFileError(file, `not valid JSON (${(err as Error).message})`);
  }
  return parseIssuers(json, file, policy);
}

export async function parseIssuers(json: unknown, file: string, policy: IssuerPolicy): Promise<TrustedIssuer[]> {
  const parsed = IssuersFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${describePath(i.path)}: ${i.message}`);
    throw new IssuersFileError(file, problems.join('; '));
  }
  if (parsed.data.length === 0) {
    throw new IssuersFileError(file, 'lists no issuers, so no EHR could ever call the service');
  }
  const seen = new Set<string>();
  const issuers: TrustedIssuer[] = [];
  for (const [index, entry] of parsed.data.entries()) {
    if (seen.has(entry.iss)) throw new IssuersFileError(file, `[${index}].iss: "${entry.iss}" is listed twice`);
    seen.add(entry.iss);
    if (entry.jwks_url && policy.production && !entry.jwks_url.startsWith('https:')) {
      throw new IssuersFileError(file, `[${index}].jwks_url: must be https in production`);
    }
    if (entry.jwks) {
      const kids = new Set<string>();
      for (const [k, key] of entry.jwks.keys.entries()) {
        if (kids.has(key.kid)) throw new IssuersFileError(file, `[${index}].jwks.keys[${k}]: kid "${key.kid}" is listed twice`);
        kids.add(key.kid);
        if (key.kty === 'RSA' && typeof key.n === 'string' && Buffer.from(key.n, 'base64url').length < 256) {
          // jose refuses RSA keys under 2048 bits at verification time; say so now, not per request.
          throw new IssuersFileError(file, `[${index}].jwks.keys[${k}] (kid "${key.kid}"): RSA modulus is shorter than 2048 bits`);
        }
        // Importing now turns a truncated modulus or a wrong curve into a startup error, not a 401 at 3 a.m.
        try {
          await importJWK(key as JWK, key.alg ?? (key.kty === 'EC' ? curveAlg(key) : 'RS384'));
        } catch (err) {
          throw new IssuersFileError(file, `[${index}].jwks.keys[${k}] (kid "${key.kid}"): not a usable public key (${(err as Error).message})`);
        }
      }
    }
    issuers.push({
      iss: entry.iss,
      ...(entry.jwks_url ? { jwksUrl: entry.jwks_url } : {}),
      ...(entry.jwks ? { jwks: entry.jwks as JSONWebKeySet } : {}),
      ...(entry.tenants ? { tenants: entry.tenants } : {}),
    });
  }
  return issuers;
}

function curveAlg(key: Record<string, unknown>): string {
  return key.crv === 'P-256' ? 'ES256' : 'ES384';
}

function describePath(path: PropertyKey[]): string {
  if (path.length === 0) return '(top level, expected a JSON array of issuers)';
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}
