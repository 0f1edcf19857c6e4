import { z } from 'zod';
import type { HookName } from './cds-service.js';

/**
 * Zod schemas for the CDS Hooks 2.0 request envelope and the Hook Library 1.0.1 contexts
 * (checklist §2–3). Unknown fields are tolerated (loose objects); what the service relies on is strict.
 */

// FHIR id datatype: it is substituted into prefetch URLs, so anything else is refused outright.
const fhirId = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'must be a FHIR id ([A-Za-z0-9-.], 1–64 characters)');

const reference = (types: readonly string[]) =>
  z
    .string()
    .regex(/^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/, 'must be a relative reference Type/id')
    .refine((ref) => types.includes(ref.split('/')[0]!), { message: `must reference one of ${types.join(', ')}` });

const bundle = z.looseObject({
  resourceType: z.literal('Bundle'),
  entry: z
    .array(z.looseObject({ resource: z.looseObject({ resourceType: z.string().min(1) }).optional() }))
    .optional(),
});

const baseContext = {
  patientId: fhirId,
  encounterId: fhirId.optional(),
};

const orderUsers = ['Practitioner', 'PractitionerRole'] as const;

export const ContextSchemas = {
  'patient-view': z.looseObject({
    userId: reference(['Practitioner', 'PractitionerRole', 'Patient', 'RelatedPerson']),
    ...baseContext,
  }),
  'order-select': z.looseObject({
    userId: reference(orderUsers),
    ...baseContext,
    selections: z.array(z.string().regex(/^[A-Za-z]+\/[^/\s]{1,64}$/, 'must be a reference Type/id')),
    draftOrders: bundle,
  }),
  'order-sign': z.looseObject({
    userId: reference(orderUsers),
    ...baseContext,
    draftOrders: bundle,
  }),
} satisfies Record<HookName, z.ZodType>;

export const FhirAuthorizationSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i, 'must be Bearer'),
  expires_in: z.number().int().nonnegative(),
  scope: z.string().min(1),
  subject: z.string().min(1),
  patient: z.string().optional(),
});

export const HookRequestSchema = z
  .looseObject({
    hook: z.string().min(1),
    hookInstance: z.string().min(1).max(200),
    fhirServer: z.url({ protocol: /^https?$/ }).optional(),
    fhirAuthorization: FhirAuthorizationSchema.optional(),
    context: z.looseObject({}),
    // null is meaningful (no data) and must survive validation; anything else is judged per key later.
    prefetch: z.record(z.string(), z.unknown()).optional(),
    extension: z.unknown().optional(),
  })
  .refine((r) => !r.fhirAuthorization || r.fhirServer, {
    message: 'fhirServer is required when fhirAuthorization is present',
    path: ['fhirServer'],
  });

export type HookRequest = z.infer<typeof HookRequestSchema>;
export type FhirAuthorization = z.infer<typeof FhirAuthorizationSchema>;
