import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle } from 'fhir/r4';
import { z } from 'zod';
import type { HookName } from '../../src/protocol/cds-service.js';
import { CARD_TOPICS } from '../../hooks/rules/card-topics.js';

/**
 * Hand-made demo patients, one per card topic, written by us from the project's decision rules
 * (kept apart from test/fixtures/external, which is third-party data). Each file in patients/ is a
 * transaction Bundle with stable ids (PUT) whose dates are placeholders relative to the load day, so
 * "sciatica for 2 weeks" stays 2 weeks whenever the sandbox is started, plus the card topics each
 * hook is expected to return (derived from the decision table; the e2e test checks them).
 *
 * Placeholders: `{{today}}` or `{{today-14d}}`, `-10w`, `-8m`, `-6y`, chained (`{{today-44y-40d}}`),
 * resolved to a FHIR date (YYYY-MM-DD, UTC).
 */

export const DEMO_ORDER_KEYS = ['lumbar-mri', 'cervical-mri', 'lumbar-xray'] as const;
export type DemoOrderKey = (typeof DEMO_ORDER_KEYS)[number];

const HOOKS = ['patient-view', 'order-select', 'order-sign'] as const satisfies readonly HookName[];

const ExpectedCardsSchema = z
  .object({
    hook: z.enum(HOOKS),
    /** The draft order `fire --order` sends; required for order hooks. */
    order: z.enum(DEMO_ORDER_KEYS).optional(),
    /** Exactly the card topics (source.topic.code) expected, in any order; [] means no cards. */
    topics: z.array(z.enum(CARD_TOPICS)),
    indicators: z.partialRecord(z.enum(CARD_TOPICS), z.enum(['info', 'warning', 'critical'])).optional(),
  })
  .refine((c) => (c.hook === 'patient-view') === (c.order === undefined), { message: 'order hooks need an order; patient-view takes none' });

const DemoFileSchema = z.object({
  id: z.string().regex(/^demo-[a-z0-9-]+$/),
  title: z.string().min(1),
  description: z.string().min(1),
  sources: z.array(z.string()).min(1),
  expect: z.array(ExpectedCardsSchema).min(1),
  bundle: z.looseObject({ resourceType: z.literal('Bundle'), type: z.literal('transaction'), entry: z.array(z.unknown()).min(1) }),
});

export type ExpectedCards = z.infer<typeof ExpectedCardsSchema>;

export interface DemoPatient {
  id: string;
  title: string;
  description: string;
  sources: string[];
  bundle: Bundle;
  expect: ExpectedCards[];
}

export const DEMO_PATIENTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'patients');

/** The demo patients with every relative date resolved against `today`. */
export function demoPatientBundles(today: Date): DemoPatient[] {
  return readdirSync(DEMO_PATIENTS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const raw: unknown = JSON.parse(readFileSync(path.join(DEMO_PATIENTS_DIR, file), 'utf8'));
      const parsed = DemoFileSchema.safeParse(raw);
      if (!parsed.success) throw new Error(`demo patient ${file}: ${z.prettifyError(parsed.error)}`);
      const doc = parsed.data;
      return {
        id: doc.id,
        title: doc.title,
        description: doc.description,
        sources: doc.sources,
        expect: doc.expect,
        bundle: resolveRelativeDates(doc.bundle as unknown as Bundle, today),
      };
    });
}

const PLACEHOLDER = /\{\{today((?:[+-]\d+[dwmy])*)\}\}/g;

/** Replaces every `{{today…}}` placeholder in string values (deep, returns a copy). */
export function resolveRelativeDates<T>(template: T, today: Date): T {
  const text = JSON.stringify(template).replace(PLACEHOLDER, (_match, offsets: string) => fhirDate(shift(today, offsets)));
  const unresolved = /\{\{[^}]*\}\}/.exec(text);
  if (unresolved) throw new Error(`unknown date placeholder ${unresolved[0]}`);
  return JSON.parse(text) as T;
}

function shift(today: Date, offsets: string): Date {
  const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  for (const [, sign, amount, unit] of offsets.matchAll(/([+-])(\d+)([dwmy])/g)) {
    const n = Number(amount) * (sign === '-' ? -1 : 1);
    if (unit === 'd') d.setUTCDate(d.getUTCDate() + n);
    else if (unit === 'w') d.setUTCDate(d.getUTCDate() + 7 * n);
    else if (unit === 'm') d.setUTCMonth(d.getUTCMonth() + n);
    else d.setUTCFullYear(d.getUTCFullYear() + n);
  }
  return d;
}

function fhirDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}
