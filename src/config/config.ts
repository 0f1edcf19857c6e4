import { z } from 'zod';
import type { ClinicalContent } from '../protocol/cds-service.js';
import { DEFAULT_LIMITS, type WorkLimits } from '../data/limits.js';
import { ENV_BOOLEAN_SPELLINGS, parseEnvBoolean } from './env-boolean.js';

/**
 * Service configuration, from environment variables only (12-factor), validated at startup.
 * The variable names are a contract other tooling relies on; docs/configuration.md lists every one.
 */
const boolish = z.enum(ENV_BOOLEAN_SPELLINGS).transform((v) => parseEnvBoolean(v) === true);

const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The public URL of this service (behind a proxy), used to check JWT `aud` and to build links. */
  PUBLIC_BASE_URL: z.url().optional(),
  CDS_AUTH: z.enum(['off', 'required']).optional(),
  /** Path to a JSON array of trusted EHR clients (issuers). */
  CDS_ISSUERS: z.string().min(1).optional(),
  /** Comma-separated origins the service may call as `fhirServer`. */
  FHIR_SERVER_ALLOWLIST: z.string().optional(),
  DATABASE_URL: z.string().min(1).default('sqlite:./data/spine-cds.db'),
  /** Deadline for one hook call: fetching, parsing and evaluating (checked before evaluation starts). */
  FHIR_DEADLINE_MS: positiveInt(3000),
  FHIR_MAX_CONCURRENCY: positiveInt(4),
  FHIR_MAX_PAGES: positiveInt(10),
  /** The same size as the FHIR per-response cap, for the same reason (src/data/limits.ts): parsing is one block. */
  BODY_LIMIT_BYTES: positiveInt(4 * 1024 * 1024),
  JSON_MAX_DEPTH: positiveInt(64),
  SHUTDOWN_GRACE_MS: positiveInt(10_000),
  CORS_ORIGINS: z.string().default('*'),
  RATE_LIMIT_MAX: positiveInt(6000),
  RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  MAPPINGS_DIR: z.string().min(1).optional(),
  /** Key for the keyed hash of patient ids in the feedback store (HMAC-SHA-256); required in production. */
  PATIENT_HASH_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Days to keep issued-card and feedback records; 0 keeps them forever. */
  RETENTION_DAYS: z.coerce.number().int().min(0).default(400),
  TRUST_PROXY: boolish.default(false),
  /** Serve /metrics on this port instead of the main one (production: keep it off the public network). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Serve /metrics only to `Authorization: Bearer <token>` (production on the main port). */
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Bearer token for the governance dashboard (/admin); without it /admin is 404 in production (docs/dashboard.md). */
  ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  // Work bounds per hook call (docs/operations.md): bytes read from the FHIR server, resources and
  // codings evaluated, text given to the name matcher, draft orders reviewed.
  FHIR_MAX_RESPONSE_BYTES: positiveInt(DEFAULT_LIMITS.maxResponseBytes),
  FHIR_MAX_CALL_BYTES: positiveInt(DEFAULT_LIMITS.maxCallBytes),
  MAX_RESOURCES_PER_KEY: positiveInt(DEFAULT_LIMITS.maxResourcesPerKey),
  MAX_RESOURCES_PER_CALL: positiveInt(DEFAULT_LIMITS.maxResourcesPerCall),
  MAX_CODINGS_PER_ELEMENT: positiveInt(DEFAULT_LIMITS.maxCodingsPerElement),
  MAX_NAME_TEXT_LENGTH: positiveInt(DEFAULT_LIMITS.maxNameTextLength),
  MAX_DRAFT_ORDERS: positiveInt(DEFAULT_LIMITS.maxDraftOrders),
  // Connection reaping: a slow or idle client cannot hold a socket for ever.
  HTTP_REQUEST_TIMEOUT_MS: positiveInt(30_000),
  HTTP_HEADERS_TIMEOUT_MS: positiveInt(10_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt(72_000),
  // Load shedding (@fastify/under-pressure): 503 + Retry-After past these; 0 turns a check off.
  /**
   * Default 1000 in production; 0 (off) otherwise: under tsx (development) and test runners the
   * loop is held by compilation and by the tests themselves, which would shed ordinary calls.
   */
  SHED_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).optional(),
  /** Default: 85% of the V8 heap limit. */
  SHED_MAX_HEAP_USED_BYTES: z.coerce.number().int().min(0).optional(),
  SHED_RETRY_AFTER_S: positiveInt(5),
  /**
   * Hook and feedback calls being worked on at once; past it, 503 at once. 0 turns it off. Sized
   * for 2 cores (docs/operations.md): one event loop, so 32 calls of a large chart (~4 ms each)
   * still answer within ~150 ms, and calls waiting on a FHIR server leave room for the others.
   */
  SHED_MAX_IN_FLIGHT: z.coerce.number().int().min(0).max(100_000).default(32),
  /** How long a hook call waits for the shared replay store before falling back to this process's memory. */
  REPLAY_STORE_TIMEOUT_MS: positiveInt(250),
});

export type Env = z.input<typeof EnvSchema>;

/** Every service variable read here (RULE_* aside: hooks/settings.ts); test/docs checks that docs/configuration.md names each. */
export const SERVICE_VARIABLES: readonly string[] = Object.freeze(Object.keys(EnvSchema.shape));

/** Each variable's value when unset (undefined: no fixed default); test/docs checks docs/configuration.md against it. */
export const SERVICE_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze(EnvSchema.parse({}));

export interface Config<RuleSettings = unknown> {
  port: number;
  host: string;
  env: 'production' | 'development' | 'test';
  production: boolean;
  logLevel: string;
  publicBaseUrl: string | undefined;
  auth: 'off' | 'required';
  issuersFile: string | undefined;
  /** Exact origins (scheme://host[:port]) allowed as fhirServer. Empty in development means "loopback and https". */
  fhirServerAllowlist: string[];
  databaseUrl: string;
  fhirDeadlineMs: number;
  fhirMaxConcurrency: number;
  fhirMaxPages: number;
  bodyLimitBytes: number;
  jsonMaxDepth: number;
  shutdownGraceMs: number;
  corsOrigins: '*' | string[];
  rateLimit: { max: number; windowMs: number };
  mappingsDir: string | undefined;
  retentionDays: number;
  /** Undefined (development and test only): the store generates a key on first start and keeps it in the database. */
  patientHashKey: string | undefined;
  trustProxy: boolean;
  /** /metrics exposure inputs; see src/http/metrics.ts metricsExposure(). */
  metrics: { port?: number; token?: string };
  /** Bearer token for /admin; undefined: 404 in production, loopback only otherwise. */
  adminToken: string | undefined;
  /** Decision-rule settings, read by the clinical content (hooks/settings.ts: RULE_* variables). */
  rules: RuleSettings;
  /** Work bounds per hook call (src/data/limits.ts). */
  limits: WorkLimits;
  http: { requestTimeoutMs: number; headersTimeoutMs: number; keepAliveTimeoutMs: number };
  /** 0 disables a check; an undefined heap limit means 85% of V8's heap limit. */
  loadShedding: { maxEventLoopDelayMs: number; maxHeapUsedBytes: number | undefined; retryAfterSeconds: number; maxInFlight: number };
  replayStoreTimeoutMs: number;
  /** Messages to log loudly at startup (permissive development defaults). */
  warnings: string[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Said by every production entry point (the service and `npm run migrate`) that would otherwise generate a key. */
export const PATIENT_HASH_KEY_REQUIRED =
  'PATIENT_HASH_KEY is required when NODE_ENV=production: set it to a secret of at least 32 characters kept outside the database, e.g. the output of `openssl rand -base64 32`.';

export function loadConfig<RuleSettings>(
  env: Record<string, string | undefined>,
  content: Pick<ClinicalContent<RuleSettings>, 'ruleSettingsFromEnv'>,
): Config<RuleSettings> {
  // Empty strings are treated as unset, as shells and compose files often produce them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const warnings: string[] = [];

  const allowlist = parseOrigins(e.FHIR_SERVER_ALLOWLIST ?? '', 'FHIR_SERVER_ALLOWLIST');
  if (production && allowlist.length === 0) {
    throw new ConfigError('FHIR_SERVER_ALLOWLIST is required when NODE_ENV=production (comma-separated origins).');
  }
  if (!production && allowlist.length === 0) {
    warnings.push(
      'FHIR_SERVER_ALLOWLIST is empty: in development any loopback or https fhirServer is allowed. Set it before go-live.',
    );
  }

  const auth = e.CDS_AUTH ?? (production ? 'required' : 'off');
  if (auth === 'required' && !e.CDS_ISSUERS) {
    throw new ConfigError(
      'CDS_AUTH=required but CDS_ISSUERS is not set: point CDS_ISSUERS at a JSON file listing the trusted EHR issuers.',
    );
  }
  if (auth === 'required' && !e.PUBLIC_BASE_URL) {
    // JWT `aud` must equal the exact URL the EHR invoked; deriving it from the Host header would
    // accept a token minted for another service that shares this host name.
    throw new ConfigError('CDS_AUTH=required but PUBLIC_BASE_URL is not set: set it to the URL EHRs use to reach this service.');
  }
  if (production && !e.PATIENT_HASH_KEY) {
    // A generated key would live in the database beside the hashes it protects, and patient ids are
    // guessable (MRNs): a copy of the database could re-identify patients. Development keeps it.
    throw new ConfigError(PATIENT_HASH_KEY_REQUIRED);
  }
  if (auth === 'off') {
    warnings.push(
      'CDS_AUTH=off: the EHR JWT is NOT verified. Anyone who can reach this port can call the service. Never run like this in production.',
    );
  }

  if (production && e.METRICS_PORT === undefined && !e.METRICS_TOKEN) {
    warnings.push('/metrics is not served: in production set METRICS_PORT (a port kept off the public network) or METRICS_TOKEN (bearer token on the main port).');
  }

  let rules: RuleSettings;
  try {
    rules = content.ruleSettingsFromEnv(cleaned);
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message}`);
  }

  return {
    port: e.PORT,
    host: e.HOST,
    env: e.NODE_ENV,
    production,
    logLevel: e.LOG_LEVEL,
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    auth,
    issuersFile: e.CDS_ISSUERS,
    fhirServerAllowlist: allowlist,
    databaseUrl: e.DATABASE_URL,
    fhirDeadlineMs: e.FHIR_DEADLINE_MS,
    fhirMaxConcurrency: e.FHIR_MAX_CONCURRENCY,
    fhirMaxPages: e.FHIR_MAX_PAGES,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    jsonMaxDepth: e.JSON_MAX_DEPTH,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    corsOrigins: e.CORS_ORIGINS === '*' ? '*' : parseOrigins(e.CORS_ORIGINS, 'CORS_ORIGINS'),
    rateLimit: { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS },
    mappingsDir: e.MAPPINGS_DIR,
    retentionDays: e.RETENTION_DAYS,
    patientHashKey: e.PATIENT_HASH_KEY,
    trustProxy: e.TRUST_PROXY,
    metrics: { ...(e.METRICS_PORT !== undefined ? { port: e.METRICS_PORT } : {}), ...(e.METRICS_TOKEN ? { token: e.METRICS_TOKEN } : {}) },
    adminToken: e.ADMIN_TOKEN,
    rules,
    limits: {
      maxResponseBytes: e.FHIR_MAX_RESPONSE_BYTES,
      maxCallBytes: e.FHIR_MAX_CALL_BYTES,
      maxResourcesPerKey: e.MAX_RESOURCES_PER_KEY,
      maxResourcesPerCall: e.MAX_RESOURCES_PER_CALL,
      maxCodingsPerElement: e.MAX_CODINGS_PER_ELEMENT,
      maxNameTextLength: e.MAX_NAME_TEXT_LENGTH,
      maxDraftOrders: e.MAX_DRAFT_ORDERS,
    },
    http: { requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS, headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS, keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS },
    loadShedding: { maxEventLoopDelayMs: e.SHED_MAX_EVENT_LOOP_DELAY_MS ?? (e.NODE_ENV === 'production' ? 1000 : 0), maxHeapUsedBytes: e.SHED_MAX_HEAP_USED_BYTES, retryAfterSeconds: e.SHED_RETRY_AFTER_S, maxInFlight: e.SHED_MAX_IN_FLIGHT },
    replayStoreTimeoutMs: e.REPLAY_STORE_TIMEOUT_MS,
    warnings,
  };
}

function parseOrigins(raw: string, variable: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        throw new ConfigError(`${variable}: "${s}" is not a URL origin (expected e.g. https://fhir.example.org)`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new ConfigError(`${variable}: "${s}" must be http or https`);
      }
      return url.origin;
    });
}
