import { z } from 'zod';
import { FINDING_IDS } from './types.js';

/**
 * The shape of one finding definition (mappings/findings/<id>.yaml). mappings/README.md explains
 * each field for reviewers; this schema is what the loader enforces.
 */

const findingId = z.enum(FINDING_IDS);
const expressions = z.array(z.string().min(1)).min(1);
const comparator = z.enum(['>', '>=', '<', '<=']);

const window = z
  .object({
    /** Counts when the date is no earlier than now minus this many days. */
    lookbackDays: z.number().positive().optional(),
    /** Counts when dated on or after the onset of these findings' current episode (TRIAL). */
    sinceOnsetOf: z.array(findingId).min(1).optional(),
  })
  .strict()
  .refine((w) => w.lookbackDays !== undefined || w.sinceOnsetOf !== undefined, 'give lookbackDays or sinceOnsetOf');

const status = z
  .object({
    /** Status codes that count (clinicalStatus for Condition, status otherwise), or "any". */
    allowed: z.union([z.literal('any'), z.array(z.string().min(1)).min(1)]),
    /** Other statuses still count when the resource's date is within this many days (SPINF, MOTOR, IVDU). */
    otherStatusesWithinDays: z.number().positive().optional(),
    /** Condition.verificationStatus codes that never count. */
    excludedVerification: z.array(z.string().min(1)).optional(),
    /** A resource without a status: count it (with a data-quality note) or skip it (with a note). */
    whenMissing: z.enum(['count', 'skip']),
  })
  .strict();

const laterality = z
  .object({
    /** FHIRPath returning Codings that can carry a side (the code itself, bodySite). */
    codings: z.string().min(1).optional(),
    left: z.string().min(1).optional(),
    right: z.string().min(1).optional(),
    bilateral: z.string().min(1).optional(),
    /** A side every match of this criterion has (G82.2x paraparesis is bilateral). */
    fixed: z.enum(['left', 'right', 'bilateral']).optional(),
  })
  .strict();

const qualifierByValueSet = z.object({ valueSet: z.string().min(1), qualifier: z.string().min(1) }).strict();
const qualifierByValue = z.object({ comparator, threshold: z.number(), qualifier: z.string().min(1) }).strict();

const noMatch = z.enum(['absent', 'unknown-without-data', 'unknown']);

const evidenceShape = {
  limb: z.enum(['arm', 'leg']).optional(),
  region: z.enum(['cervical', 'thoracic', 'lumbar']).optional(),
  laterality: laterality.optional(),
  qualifiers: z.array(z.string().min(1)).optional(),
  qualifiersByValueSet: z.array(qualifierByValueSet).optional(),
};

const codedResource = z.enum(['Condition', 'Observation', 'Procedure', 'ServiceRequest', 'MedicationStatement', 'MedicationRequest']);


const coded = z
  .object({
    kind: z.literal('coded'),
    name: z.string().min(1),
    resource: codedResource,
    valueSet: z.string().min(1),
    status,
    date: expressions,
    window: window.optional(),
    /** count: a resource without any date is treated as current (with a data-quality note); skip: not used (with a note). */
    missingDate: z.enum(['count', 'skip']),
    /** Extra condition on the matching resource: some Coding from this FHIRPath is in this value set (SADDLE bodySite). */
    requires: z.object({ codings: z.string().min(1), valueSet: z.string().min(1) }).strict().optional(),
    noMatch,
    ...evidenceShape,
  })
  .strict();

const value = z
  .object({
    /** FHIRPath returning the Quantity (or a bare number, for scores). */
    expression: z.string().min(1),
    /** UCUM unit every value is normalised to with ucum-lhc. */
    unit: z.string().min(1),
    /** UCUM unit assumed when the value has none; only for dimensionless scores. */
    unitWhenAbsent: z.string().min(1).optional(),
    /** Molar mass (g/mol) for converting between mass and substance units (calcium mg/dL and mmol/L). */
    molecularWeight: z.number().positive().optional(),
  })
  .strict();

const measurement = z
  .object({
    kind: z.literal('measurement'),
    name: z.string().min(1),
    resource: z.literal('Observation'),
    valueSet: z.string().min(1),
    status,
    date: expressions,
    window: window,
    missingDate: z.enum(['count', 'skip']),
    value,
    /** Omit to make any value count (PAIN records the score; qualifiers grade it). */
    threshold: z.object({ comparator, value: z.number() }).strict().optional(),
    /** An interpretation in this value set also counts (CRP "H"). */
    interpretation: z.object({ codings: z.string().min(1), valueSet: z.string().min(1) }).strict().optional(),
    /** all: every counting value is evidence; latest: only the most recent usable value is judged. */
    select: z.enum(['all', 'latest']),
    qualifiersByValue: z.array(qualifierByValue).optional(),
    noMatch,
    ...evidenceShape,
  })
  .strict();

const age = z
  .object({
    kind: z.literal('age'),
    name: z.string().min(1),
    resource: z.literal('Patient'),
    birthDate: z.string().min(1),
    comparator,
    /** Age in completed years. */
    years: z.number().nonnegative(),
    unit: z.literal('a'),
  })
  .strict();

const weightChange = z
  .object({
    kind: z.literal('weight-change'),
    name: z.string().min(1),
    resource: z.literal('Observation'),
    valueSet: z.string().min(1),
    status,
    date: expressions,
    value,
    /** A drop of at least this percentage of the earlier value. */
    dropPercent: z.number().positive(),
    /** The earlier value must lie this many days before the latest one. */
    baselineDays: z.object({ min: z.number().nonnegative(), max: z.number().positive() }).strict(),
    /** The latest weight must be this recent to speak about the present. */
    latestWithinDays: z.number().positive(),
    qualifiers: z.array(z.string().min(1)).optional(),
    noMatch,
  })
  .strict();

const medicationPeriod = z
  .object({
    start: expressions,
    end: z.array(z.string().min(1)).optional(),
    /** FHIRPath to a Duration (dispenseRequest.expectedSupplyDuration). */
    supplyDuration: z.string().min(1).optional(),
    /** FHIRPath to the number of refills (each refill adds one supply duration). */
    repeats: z.string().min(1).optional(),
    /** Statuses whose open-ended period runs until now. */
    openEndedStatuses: z.array(z.string().min(1)).optional(),
  })
  .strict();

const medicationDays = z
  .object({
    kind: z.literal('medication-days'),
    name: z.string().min(1),
    resources: z.array(z.enum(['MedicationStatement', 'MedicationRequest'])).min(1),
    valueSet: z.string().min(1),
    status: z.record(z.string(), status),
    periods: z.record(z.string(), medicationPeriod),
    lookbackDays: z.number().positive(),
    minimumDays: z.number().positive(),
    /** Evidence qualifier `<prefix>:<days>`. */
    qualifierPrefix: z.string().min(1),
    noMatch,
  })
  .strict();

const derived = z
  .object({
    kind: z.literal('derived'),
    name: z.string().min(1),
    from: findingId,
    /** Present when the source finding's lateralities include one of these sets. */
    lateralityAnyOf: z.array(z.array(z.enum(['left', 'right', 'bilateral'])).min(1)).min(1),
  })
  .strict();

/**
 * An examination finding charted as an Observation (category exam), in any of the three shapes EHRs
 * use: the finding as the code ("Foot drop", with no value or a yes/no value), the test as the code
 * with the result as the value ("Babinski reflex" = "Positive"), or a grade (muscle strength 0-5).
 * A finding carried as the value of a generic code ("Neurological finding" = "Foot drop") counts too.
 */
const exam = z
  .object({
    kind: z.literal('exam'),
    name: z.string().min(1),
    resource: z.literal('Observation'),
    /** The finding itself: Observation.code or valueCodeableConcept in this set, unless the value denies it. */
    findings: z.string().min(1).optional(),
    /** The test: Observation.code in this set; present only when the value is a positive answer. */
    tests: z.string().min(1).optional(),
    /** A graded test (MRC muscle strength 0-5): Observation.code in `valueSet`, present when the grade is below `below`. */
    grade: z.object({ valueSet: z.string().min(1), below: z.number().positive() }).strict().optional(),
    /** Test results (value or interpretation) that mean the test was positive / negative. */
    positive: z.string().min(1),
    negative: z.string().min(1),
    /** Values that confirm / deny a finding charted as the code (default: positive / negative). */
    findingAnswers: z.object({ present: z.string().min(1), absent: z.string().min(1) }).strict().optional(),
    status,
    date: expressions,
    window: window.optional(),
    missingDate: z.enum(['count', 'skip']),
    requires: z.object({ codings: z.string().min(1), valueSet: z.string().min(1) }).strict().optional(),
    /** Limb (and its region) from the body site: a site in the `leg` set is a leg, in the `arm` set an arm. */
    limbBySite: z.object({ codings: z.string().min(1), leg: z.string().min(1), arm: z.string().min(1) }).strict().optional(),
    /** The exam date is not the onset of the symptom: leave it out of the episode's onset (LEG, ARM). */
    notOnset: z.boolean().optional(),
    noMatch,
    ...evidenceShape,
  })
  .strict()
  .refine((c) => c.findings !== undefined || c.tests !== undefined || c.grade !== undefined, 'give findings, tests or grade');

export const criterionSchema = z.discriminatedUnion('kind', [coded, measurement, age, weightChange, medicationDays, derived, exam]);

export const definitionSchema = z
  .object({
    id: findingId,
    label: z.string().min(1),
    /** Seeds S0-S4 and guidelines of docs/clinical-rules.md. */
    sources: z.array(z.string().min(1)).min(1),
    description: z.string().optional(),
    reads: z.array(z.enum(['Patient', 'Condition', 'Observation', 'Procedure', 'ServiceRequest', 'MedicationStatement', 'MedicationRequest'])).min(1),
    criteria: z.array(criterionSchema).min(1),
    /** Shown on the finding when its state is unknown. */
    unknownNote: z.string().optional(),
  })
  .strict();

export type DefinitionInput = z.infer<typeof definitionSchema>;
export type CriterionInput = z.infer<typeof criterionSchema>;
export type StatusRule = z.infer<typeof status>;
export type WindowRule = z.infer<typeof window>;
export type Comparator = z.infer<typeof comparator>;
export type NoMatchRule = z.infer<typeof noMatch>;
export type MedicationPeriodRule = z.infer<typeof medicationPeriod>;
