import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { draftImagingOrder, patientViewRequest } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { b64url, makeKey, mint, writeIssuersFile, type TestKey } from './support.js';

/**
 * Property-based fuzzing of the running service over real HTTP. Whatever arrives, the answer is a
 * 200 with a well-formed CDS Hooks response, or a 4xx (412 included) with a JSON body: never a 5xx,
 * never a hang, and the service still answers afterwards. FUZZ_SCALE scales every numRuns (CI uses 1);
 * FUZZ_SEED replays a reported seed.
 */

const SCALE = Number(process.env.FUZZ_SCALE ?? '1');
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
// fast-check prints the seed of a failing run; FUZZ_SEED=<seed> replays it.
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });
/** A hang is a request still unanswered after this long; it fails the property (not a timing assertion on speed). */
const HANG_MS = 20_000;
const SERVICE_IDS = ['spine-cds-patient-view', 'spine-cds-order-select', 'spine-cds-order-sign'] as const;
const HOOK_OF = { 'spine-cds-patient-view': 'patient-view', 'spine-cds-order-select': 'order-select', 'spine-cds-order-sign': 'order-sign' } as const;

const statusCounts = new Map<number, number>();
const perProperty = new Map<string, number>();
const notOperationOutcome = new Map<number, number>();
let svc: RunningService;

beforeAll(async () => {
  // fhirServer may appear in generated requests: only a closed loopback port is allowed, so nothing leaves the machine.
  svc = await startService({
    DATABASE_URL: 'sqlite::memory:',
    RATE_LIMIT_MAX: '1000000',
    FHIR_SERVER_ALLOWLIST: 'http://127.0.0.1:9',
    FHIR_DEADLINE_MS: '1000',
    BODY_LIMIT_BYTES: String(2 * 1024 * 1024),
    LOG_LEVEL: 'warn',
  });
});

afterAll(async () => {
  await svc?.close();
  const total = [...statusCounts.values()].reduce((a, b) => a + b, 0);
  const byStatus = Object.fromEntries([...statusCounts.entries()].sort(([a], [b]) => a - b));
  console.info(`FUZZ SUMMARY total=${total} statuses=${JSON.stringify(byStatus)} properties=${JSON.stringify(Object.fromEntries(perProperty))} non-OperationOutcome-4xx=${JSON.stringify(Object.fromEntries(notOperationOutcome))}`);
});

interface Sent {
  path: string;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Sends one generated request and checks the invariant; throws (so fast-check shrinks) on a violation. */
async function sendAndCheck(property: string, req: Sent, base = svc.baseUrl, allowed?: (status: number) => boolean): Promise<number> {
  let response: Response;
  try {
    response = await fetch(base + req.path, {
      method: 'POST',
      headers: { 'content-type': req.contentType ?? 'application/json', ...req.headers },
      body: req.body,
      signal: AbortSignal.timeout(HANG_MS),
    });
  } catch (err) {
    throw new Error(`no answer (${(err as Error).name}: ${(err as Error).message}) for ${req.path}`, { cause: err });
  }
  const text = await response.text();
  const status = response.status;
  statusCounts.set(status, (statusCounts.get(status) ?? 0) + 1);
  perProperty.set(property, (perProperty.get(property) ?? 0) + 1);
  if (status >= 500) throw new Error(`${status} for ${req.path}: ${text.slice(0, 500)}`);
  if (allowed && !allowed(status)) throw new Error(`unexpected ${status} for ${req.path}: ${text.slice(0, 300)}`);
  if (!/^application\/json/.test(response.headers.get('content-type') ?? '')) {
    throw new Error(`${status} without a JSON content type for ${req.path}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  if (status === 200 && !req.path.endsWith('/feedback')) {
    const problems = checkCdsResponse(body);
    if (problems.length > 0) throw new Error(`200 with a malformed CDS response: ${problems.slice(0, 5).join('; ')}`);
  } else if (status !== 200) {
    if (status < 400) throw new Error(`unexpected status ${status}`);
    // Every client error, including those the router refuses before any route runs, is an OperationOutcome.
    if ((body as { resourceType?: unknown } | null)?.resourceType !== 'OperationOutcome') {
      notOperationOutcome.set(status, (notOperationOutcome.get(status) ?? 0) + 1);
      throw new Error(`${status} with a JSON body that is not an OperationOutcome: ${text.slice(0, 200)}`);
    }
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const nastyConstants = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\u202e\u2066',
  '\ud800',
  '🧠🦴'.repeat(500),
  'Z̴̡̢̛͖͉a̷͇l̶g̵o̸',
  '../../etc/passwd',
  '{{context.patientId}}',
  '%00%2F',
  'Patient/',
  'Patient/../Patient/1',
  'javascript:alert(1)',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'null',
  'NaN',
  '1e999',
);
const shortString = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), nastyConstants);
const hugeString = fc.tuple(fc.integer({ min: 10_000, max: 300_000 }), fc.constantFrom('x', 'é', '🧠', '\u0301', '"', '\\')).map(([n, c]) => c.repeat(n));
const weirdString = fc.oneof({ weight: 6, arbitrary: shortString }, { weight: 1, arbitrary: hugeString });
const weirdNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2, -1),
);
const weirdScalar = fc.oneof(shortString, weirdNumber, fc.boolean(), fc.constant(null));
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: weirdScalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(weirdScalar, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(shortString, weirdScalar, { maxKeys: 4 }) },
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: weirdValue });

const recentIso = fc.integer({ min: 0, max: 3 * 365 }).map((days) => new Date(Date.now() - days * 86_400_000).toISOString());
const impossibleDate = fc.oneof(
  fc.constantFrom(
    '2023-02-30',
    '2023-13-01',
    '0000-00-00',
    '2024-06-31T10:00:00Z',
    '9999-12-31T23:59:60Z',
    '2020-01-01T25:61:00Z',
    '2024-01-01T00:00:00+99:00',
    '+275760-09-13T00:00:00Z',
    '-000001-01-01',
    '2024',
    '2024-06',
    'yesterday',
    '1970-01-01T00:00:00.000000000001Z',
  ),
  fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString())),
);
const dateish = fc.oneof({ weight: 3, arbitrary: recentIso }, { weight: 2, arbitrary: impossibleDate }, { weight: 1, arbitrary: weirdValue });
const unit = fc.oneof(
  fc.constantFrom('mm/h', 'mm/hr', 'MM/H', 'mg/L', 'mg/dL', 'Cel', '[degF]', '°F', '°C', 'K', 'kg', '[lb_av]', 'g', '{score}', '1', '%', '', 'furlong/fortnight', 'mm[Hg]'),
  shortString,
);

const coding = (codes: Array<[string, string]>) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...codes).map(([system, code]) => ({ system, code })) },
    { weight: 1, arbitrary: fc.record({ system: maybe(fc.constantFrom('http://snomed.info/sct', 'http://loinc.org')), code: weirdScalar }, { requiredKeys: [] }) },
  );
const CONDITION_CODES: Array<[string, string]> = [
  ['http://hl7.org/fhir/sid/icd-10-cm', 'M54.16'],
  ['http://hl7.org/fhir/sid/icd-10-cm', 'M54.41'],
  ['http://hl7.org/fhir/sid/icd-10-cm', 'M54.12'],
  ['http://hl7.org/fhir/sid/icd-10-cm', 'G83.4'],
  ['http://hl7.org/fhir/sid/icd-10-cm', 'C79.51'],
  ['http://snomed.info/sct', '23056005'],
  ['http://snomed.info/sct', '192970008'],
  ['http://snomed.info/sct', '363346000'],
  ['http://snomed.info/sct', '279039007'],
];
const OBSERVATION_CODES: Array<[string, string]> = [
  ['http://loinc.org', '4537-7'],
  ['http://loinc.org', '30341-2'],
  ['http://loinc.org', '1988-5'],
  ['http://loinc.org', '8310-5'],
  ['http://loinc.org', '29463-7'],
  ['http://loinc.org', '72514-3'],
];

const condition = fc.record(
  {
    resourceType: fc.oneof({ weight: 8, arbitrary: fc.constant('Condition') }, { weight: 1, arbitrary: weirdScalar }),
    id: maybe(fc.uuid()),
    clinicalStatus: maybe(fc.constantFrom('active', 'resolved', 'recurrence', 'inactive', 'bogus').map((code) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code }] }))),
    verificationStatus: maybe(fc.constantFrom('confirmed', 'refuted', 'entered-in-error').map((code) => ({ coding: [{ code }] }))),
    code: maybe(fc.array(coding(CONDITION_CODES), { maxLength: 3 }).map((c) => ({ coding: c }))),
    bodySite: maybe(fc.array(fc.record({ coding: fc.array(coding([['http://snomed.info/sct', '7771000'], ['http://snomed.info/sct', '24028007']]), { maxLength: 2 }) }), { maxLength: 2 })),
    onsetDateTime: dateish,
    onsetPeriod: maybe(fc.record({ start: dateish, end: dateish }, { requiredKeys: [] })),
    recordedDate: dateish,
    subject: maybe(fc.constant({ reference: 'Patient/p1' })),
  },
  { requiredKeys: [] },
);

const quantity = fc.record({ value: fc.oneof({ weight: 3, arbitrary: fc.double({ min: -1000, max: 1000 }) }, { weight: 1, arbitrary: weirdValue }), unit, system: maybe(fc.constant('http://unitsofmeasure.org')), code: unit }, { requiredKeys: [] });
const observation = fc.record(
  {
    resourceType: fc.oneof({ weight: 8, arbitrary: fc.constant('Observation') }, { weight: 1, arbitrary: weirdScalar }),
    id: maybe(fc.uuid()),
    status: maybe(fc.constantFrom('final', 'amended', 'corrected', 'preliminary', 'entered-in-error', 'cancelled', 'registered')),
    code: maybe(fc.array(coding(OBSERVATION_CODES), { maxLength: 2 }).map((c) => ({ coding: c }))),
    effectiveDateTime: dateish,
    effectivePeriod: maybe(fc.record({ start: dateish }, { requiredKeys: [] })),
    effectiveInstant: dateish,
    issued: dateish,
    valueQuantity: maybe(quantity),
    valueString: weirdValue,
    valueCodeableConcept: weirdValue,
    interpretation: weirdValue,
  },
  { requiredKeys: [] },
);

const patientResource = fc.record(
  {
    resourceType: fc.oneof({ weight: 8, arbitrary: fc.constant('Patient') }, { weight: 1, arbitrary: weirdScalar }),
    id: maybe(fc.constant('p1')),
    birthDate: dateish,
    gender: maybe(fc.constantFrom('male', 'female', 'other', 'unknown', 'MALE')),
    deceasedBoolean: weirdValue,
    name: weirdValue,
  },
  { requiredKeys: [] },
);

const searchset = <T>(resource: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.oneof({ weight: 5, arbitrary: resource.map((r) => ({ resource: r })) }, { weight: 1, arbitrary: weirdValue }), { maxLength: 8 }).map((entry) => ({ resourceType: 'Bundle', type: 'searchset', entry })) },
    { weight: 1, arbitrary: fc.constantFrom(null, { resourceType: 'Bundle', type: 'searchset' }, { resourceType: 'Bundle', entry: 'nope' }, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing' }] }, []) },
    { weight: 1, arbitrary: weirdValue },
  );

const prefetch = fc.record(
  {
    patient: fc.oneof({ weight: 5, arbitrary: patientResource }, { weight: 1, arbitrary: weirdValue }),
    conditions: searchset(condition),
    observations: searchset(observation),
    medicationRequests: searchset(weirdValue),
    medicationStatements: searchset(weirdValue),
    serviceRequests: searchset(weirdValue),
    procedures: searchset(weirdValue),
  },
  // Keys go missing too: the three required ones then yield 412 (no fhirServer) — or a fetch attempt
  // to the closed loopback port when a fhirServer is given.
  { requiredKeys: [] },
);

const draftOrders = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.oneof(fc.constant(draftImagingOrder('draft-mri-1')), fc.constant(draftImagingOrder('draft-mri-2')), weirdValue), { maxLength: 4 }).map((resources) => ({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) })) },
  { weight: 1, arbitrary: weirdValue },
);

/** Structurally valid envelopes with strange but plausible contexts, per hook. */
const strangeRequest = fc.constantFrom(...SERVICE_IDS).chain((id) =>
  fc
    .record({
      context: fc.record(
        {
          userId: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('Practitioner/1', 'PractitionerRole/x-9', 'Patient/p1') }, { weight: 1, arbitrary: weirdValue }),
          patientId: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('p1', 'a'.repeat(64), 'A-1.b') }, { weight: 1, arbitrary: weirdValue }),
          encounterId: weirdValue,
          selections: fc.oneof(fc.constant(['ServiceRequest/draft-mri-1']), fc.array(shortString, { maxLength: 3 }), weirdValue),
          draftOrders,
          extra: weirdValue,
        },
        { requiredKeys: id === 'spine-cds-patient-view' ? ['userId', 'patientId'] : ['userId', 'patientId', 'draftOrders'] },
      ),
      prefetch,
      fhirServer: fc.option(fc.constantFrom('http://127.0.0.1:9/fhir', 'https://evil.example/fhir', 'not a url'), { nil: undefined }),
      extension: fc.option(weirdValue, { nil: undefined }),
    })
    .map((r) => ({ id, body: { hook: HOOK_OF[id], hookInstance: randomUUID(), ...r } })),
);

/** A valid, clinically plausible request: the seed for mutations. */
const validRequest = fc.constantFrom(...SERVICE_IDS).chain((id) =>
  fc
    .record({
      conditions: fc.array(fc.record({ code: fc.constantFrom(...CONDITION_CODES), onset: recentIso }), { maxLength: 4 }),
      observations: fc.array(fc.record({ code: fc.constantFrom(...OBSERVATION_CODES), value: fc.double({ min: 0, max: 200, noNaN: true }), unit: fc.constantFrom('mm/h', 'mg/L', 'Cel', 'kg', '{score}'), at: recentIso }), { maxLength: 4 }),
      birthDate: fc.date({ min: new Date('1920-01-01'), max: new Date('2010-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    })
    .map(({ conditions, observations, birthDate }) => {
      const base = patientViewRequest() as { prefetch: Record<string, unknown>; context: Record<string, unknown> };
      base.prefetch.patient = { resourceType: 'Patient', id: 'p1', birthDate, gender: 'male' };
      base.prefetch.conditions = bundle(conditions.map((c, i) => ({ resourceType: 'Condition', id: `c${i}`, clinicalStatus: { coding: [{ code: 'active' }] }, code: { coding: [{ system: c.code[0], code: c.code[1] }] }, onsetDateTime: c.onset, subject: { reference: 'Patient/p1' } })));
      base.prefetch.observations = bundle(observations.map((o, i) => ({ resourceType: 'Observation', id: `o${i}`, status: 'final', code: { coding: [{ system: o.code[0], code: o.code[1] }] }, effectiveDateTime: o.at, valueQuantity: { value: o.value, unit: o.unit, system: 'http://unitsofmeasure.org', code: o.unit } })));
      const body: Record<string, unknown> = { ...base, hook: HOOK_OF[id] };
      if (id !== 'spine-cds-patient-view') {
        const draft = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: draftImagingOrder('draft-mri-1') }] };
        body.context = { ...base.context, draftOrders: draft, ...(id === 'spine-cds-order-select' ? { selections: ['ServiceRequest/draft-mri-1'] } : {}) };
      }
      return { id, body };
    }),
);

function bundle(resources: unknown[]): unknown {
  return { resourceType: 'Bundle', type: 'searchset', ...(resources.length ? { entry: resources.map((resource) => ({ resource })) } : {}) };
}

type Mutation = { at: number; op: 'delete' | 'replace' | 'wrap' | 'stringify' | 'null' | 'duplicate' | 'emptyObject'; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'wrap', 'stringify', 'null', 'duplicate', 'emptyObject'),
  value: weirdValue,
});

/** Applies mutations at nodes picked by index over a depth-first listing (so every node is reachable). */
function mutate(root: unknown, mutations: Mutation[]): unknown {
  const copy = structuredClone(root);
  for (const m of mutations) {
    const slots: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
    const walk = (node: unknown) => {
      if (node === null || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        slots.push({ parent: node as Record<string, unknown>, key: Array.isArray(node) ? Number(k) : k });
        walk(v);
      }
    };
    walk(copy);
    if (slots.length === 0) break;
    const { parent, key } = slots[m.at % slots.length]!;
    const current = (parent as Record<string | number, unknown>)[key];
    const set = (v: unknown) => ((parent as Record<string | number, unknown>)[key] = v);
    switch (m.op) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete (parent as Record<string, unknown>)[key as string];
        break;
      case 'replace':
        set(m.value);
        break;
      case 'wrap':
        set([current]);
        break;
      case 'stringify':
        set(JSON.stringify(current) ?? 'undefined');
        break;
      case 'null':
        set(null);
        break;
      case 'duplicate':
        if (Array.isArray(parent)) parent.push(structuredClone(current));
        else set(Array.isArray(current) ? [...current, ...current] : current);
        break;
      case 'emptyObject':
        set({});
        break;
    }
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const timeout = 240_000;

describe('fuzzing the running service (fast-check, real HTTP)', () => {
  it('structurally valid requests with strange contexts and wrong-typed, missing prefetch', async () => {
    await fc.assert(
      fc.asyncProperty(strangeRequest, async ({ id, body }) => {
        await sendAndCheck('strange-context-and-prefetch', { path: `/cds-services/${id}`, body: JSON.stringify(body) });
      }),
      { numRuns: runs(1200) },
    );
  }, timeout);

  it('mutations of valid, clinically plausible requests', async () => {
    await fc.assert(
      fc.asyncProperty(validRequest, fc.array(mutation, { minLength: 1, maxLength: 4 }), async ({ id, body }, mutations) => {
        await sendAndCheck('mutated-valid', { path: `/cds-services/${id}`, body: JSON.stringify(mutate(body, mutations)) });
      }),
      { numRuns: runs(1000) },
    );
  }, timeout);

  it('unmutated valid requests are answered 200 with a well-formed response', async () => {
    await fc.assert(
      fc.asyncProperty(validRequest, async ({ id, body }) => {
        await sendAndCheck('valid', { path: `/cds-services/${id}`, body: JSON.stringify(body) }, svc.baseUrl, (s) => s === 200);
      }),
      { numRuns: runs(200) },
    );
  }, timeout);

  it('huge strings and unicode anywhere in the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SERVICE_IDS), fc.oneof(hugeString, shortString), fc.constantFrom('hookInstance', 'hook', 'userId', 'patientId', 'fhirServer', 'key'), async (id, text, where) => {
        const body = patientViewRequest() as Record<string, unknown> & { context: Record<string, unknown>; prefetch: Record<string, unknown> };
        body.hook = HOOK_OF[id];
        if (where === 'userId' || where === 'patientId') body.context[where] = text;
        else if (where === 'key') body.prefetch[text] = { resourceType: 'Bundle', type: 'searchset' };
        else body[where] = text;
        await sendAndCheck('huge-and-unicode', { path: `/cds-services/${id}`, body: JSON.stringify(body) });
      }),
      { numRuns: runs(200) },
    );
  }, timeout);

  it('raw bodies: not JSON, not an object, odd content types, deep nesting, unknown services', async () => {
    const rawBody = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.integer({ min: 1, max: 5000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
      fc.integer({ min: 1, max: 5000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
      fc.constantFrom('', '{', '{"hook":', '\ufeff{}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', 'null', '[]', '"string"', '1e999999'),
    );
    const contentType = fc.constantFrom('application/json', 'application/fhir+json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml');
    const path = fc.oneof(
      fc.constantFrom(...SERVICE_IDS).map((id) => `/cds-services/${id}`),
      fc.constantFrom(...SERVICE_IDS).map((id) => `/cds-services/${id}/feedback`),
      // Percent-encoded bytes (lone surrogates included, as U+FFFD): any id an HTTP client could send.
      shortString.map((s) => `/cds-services/${[...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`),
    );
    await fc.assert(
      fc.asyncProperty(path, rawBody, contentType, async (p, body, type) => {
        await sendAndCheck('raw-bodies', { path: p, body, contentType: type });
      }),
      { numRuns: runs(500) },
    );
  }, timeout);

  it('feedback bodies: strange entries, dates, outcomes and sizes', async () => {
    const entry = fc.record(
      {
        card: fc.oneof(fc.uuid(), weirdValue),
        outcome: fc.oneof(fc.constantFrom('accepted', 'overridden'), weirdValue),
        acceptedSuggestions: fc.oneof(fc.array(fc.record({ id: fc.oneof(fc.uuid(), weirdValue) }), { maxLength: 3 }), weirdValue),
        overrideReason: fc.oneof(fc.record({ reason: fc.record({ code: weirdScalar, system: weirdScalar }, { requiredKeys: [] }), userComment: weirdString }, { requiredKeys: [] }), weirdValue),
        outcomeTimestamp: dateish,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SERVICE_IDS), fc.oneof(fc.array(entry, { maxLength: 6 }), weirdValue), async (id, feedback) => {
        await sendAndCheck('feedback', { path: `/cds-services/${id}/feedback`, body: JSON.stringify({ feedback }) });
      }),
      { numRuns: runs(400) },
    );
  }, timeout);

  it('still answers afterwards', async () => {
    expect((await fetch(`${svc.baseUrl}/healthz`)).status).toBe(200);
    const res = await fetch(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(patientViewRequest()),
    });
    expect(res.status).toBe(200);
  });
});

describe('fuzzing the JWT check (CDS_AUTH=required, real signatures)', () => {
  const BASE = 'https://cds.fuzz.example';
  const ISS = 'https://ehr.fuzz.example';
  const PATH = '/cds-services/spine-cds-patient-view';
  let key: TestKey;
  let authSvc: RunningService;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    key = await makeKey('ES384');
    const written = await writeIssuersFile([{ iss: ISS, jwks: { keys: [key.publicJwk] } }]);
    cleanup = written.cleanup;
    authSvc = await startService({ CDS_AUTH: 'required', CDS_ISSUERS: written.file, PUBLIC_BASE_URL: BASE, DATABASE_URL: 'sqlite::memory:', RATE_LIMIT_MAX: '1000000', LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await authSvc?.close();
    await cleanup?.();
  });

  it('mutated headers, claims and encodings: only 200 or the bare 401, never anything else', async () => {
    const headerField = fc.constantFrom('alg', 'kid', 'typ', 'jku', 'crit', 'b64', 'x5u', 'jwk', 'cty');
    const claimField = fc.constantFrom('iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'tenant', 'sub');
    const tokenCase = fc.oneof(
      // Signed with the trusted key, with one header or claim replaced by something odd: reaches the claim checks.
      fc.record({ kind: fc.constant('claims' as const), field: claimField, value: fc.oneof(weirdValue, fc.constant(undefined)) }),
      fc.record({ kind: fc.constant('header' as const), field: headerField, value: fc.oneof(weirdValue, fc.constant(undefined)) }),
      // Byte-level damage to a valid token.
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), char: fc.constantFrom('A', '_', '-', '.', '=', ' ', '+', '/', '\u00e9') }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      // Segments swapped for generated JSON.
      fc.record({ kind: fc.constant('segments' as const), header: fc.jsonValue({ maxDepth: 2 }), payload: fc.jsonValue({ maxDepth: 2 }), sig: shortString }),
      // The Authorization header itself.
      fc.record({ kind: fc.constant('scheme' as const), scheme: fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Bearer  ', 'Basic', 'Token', 'Bearer\t', ''), extra: fc.constantFrom('', ' ', ' extra', ',x') }),
    );
    await fc.assert(
      fc.asyncProperty(tokenCase, async (c) => {
        let authorization: string;
        const fresh = () => mint({ key, iss: ISS, aud: BASE + PATH });
        switch (c.kind) {
          case 'claims':
            authorization = `Bearer ${await mint({ key, iss: ISS, aud: BASE + PATH, claims: { [c.field]: c.value } })}`;
            break;
          case 'header':
            authorization = `Bearer ${await mint({ key, iss: ISS, aud: BASE + PATH, header: { [c.field]: c.value } }).catch(() => 'unsignable')}`;
            break;
          case 'flip': {
            const t = await fresh();
            const i = c.at % t.length;
            authorization = `Bearer ${t.slice(0, i)}${c.char}${t.slice(i + 1)}`;
            break;
          }
          case 'truncate': {
            const t = await fresh();
            authorization = `Bearer ${t.slice(0, c.at % t.length)}`;
            break;
          }
          case 'segments':
            authorization = `Bearer ${b64url(JSON.stringify(c.header))}.${b64url(JSON.stringify(c.payload))}.${b64url(c.sig)}`;
            break;
          case 'scheme':
            authorization = `${c.scheme} ${await fresh()}${c.extra}`;
            break;
        }
        let headerValue = authorization;
        // fetch refuses header values outside Latin-1; such a header cannot be sent by any client either.
        if (/[^\x20-\x7e\t]/.test(headerValue)) headerValue = Buffer.from(headerValue, 'utf8').toString('latin1').replace(/[^\x20-\x7e\t]/g, '?');
        await sendAndCheck(
          'jwt-mutations',
          { path: PATH, body: JSON.stringify(patientViewRequest()), headers: { authorization: headerValue } },
          authSvc.baseUrl,
          (s) => s === 200 || s === 401,
        );
      }),
      { numRuns: runs(600) },
    );
    // And a valid token still passes afterwards.
    const ok = await fetch(authSvc.baseUrl + PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await mint({ key, iss: ISS, aud: BASE + PATH })}` },
      body: JSON.stringify(patientViewRequest()),
    });
    expect(ok.status).toBe(200);
  }, timeout);
});
