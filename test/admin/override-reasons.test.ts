import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedbackEntry } from '../../src/storage/index.js';
import { openStore, type Report, type Store } from '../../src/storage/index.js';
import { OTHER_REASON_LABEL } from '../../src/storage/analytics.js';
import { captureLogger, card, issued } from '../storage/contract.js';

/**
 * Which override reasons the report may name: only the service's own (its override-reason
 * CodeSystem, sent with that system or none). Everything else an EHR sends as a Coding is counted
 * per system, with no code and no display, and the feedback itself is still stored.
 */
const OWN = 'https://fhir.spine-cds.org/CodeSystem/override-reason';
const SERVICE = 'spine-cds-order-sign';
const DAY = 86_400_000;
const AT = new Date().toISOString();

const dir = mkdtempSync(join(tmpdir(), 'spine-reasons-'));
let store: Store;
let report: Report;
const cards = Array.from({ length: 7 }, () => card('low-value-imaging'));
const overridden = (i: number, reason: { system?: string; code: string; display?: string }): FeedbackEntry => ({
  card: cards[i]!.uuid,
  outcome: 'overridden',
  overrideReason: { reason },
  outcomeTimestamp: AT,
});

beforeAll(async () => {
  store = await openStore(`sqlite:${join(dir, 'spine-cds.db')}`, { logger: captureLogger().logger, retentionDays: 0, maintenance: false });
  store.cardsIssued(issued(cards));
  const result = await store.recordFeedback(SERVICE, [
    // The service's code, its system, and an EHR display that must not replace the service's text.
    overridden(0, { system: OWN, code: 'patient-declined', display: 'Mrs Smith said no' }),
    // The service's code without a system: still the service's reason.
    overridden(1, { code: 'patient-declined' }),
    // The service's code under the EHR's own system: not the service's reason.
    overridden(2, { system: 'urn:ehr:local', code: 'patient-declined', display: 'declined' }),
    overridden(3, { system: 'urn:ehr:local', code: 'Pt Jane Doe MRN 55512', display: 'Jane Doe MRN 55512 refused' }),
    // A code the service does not have, without a system.
    overridden(4, { code: 'MRN 55512 wife refused' }),
    // A "system" that is free text is not shown either.
    overridden(5, { system: 'Jane Doe ward 5', code: 'x' }),
    overridden(6, { system: OWN, code: 'not-a-code-of-ours', display: 'Jane Doe' }),
  ]);
  expect(result).toEqual({ stored: 7, duplicates: 0, unknownCards: 0 });
  report = await store.report({ since: new Date(Date.now() - DAY) });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('override reasons in the report', () => {
  it('names the service reasons with its own text, and counts every other Coding by system only', () => {
    expect(report.overrideReasons).toEqual([
      // No system, or one that is not URI-shaped (shown as none).
      { serviceId: SERVICE, label: OTHER_REASON_LABEL, cards: 2 },
      { serviceId: SERVICE, label: OTHER_REASON_LABEL, system: 'urn:ehr:local', cards: 2 },
      { serviceId: SERVICE, label: 'Patient declined', system: OWN, code: 'patient-declined', cards: 2 },
      // The service's system with a code it does not have.
      { serviceId: SERVICE, label: OTHER_REASON_LABEL, system: OWN, cards: 1 },
    ]);
    expect(report.rows[0]).toMatchObject({ overridden: 7 });
  });

  it('keeps no code or display of a reason it did not offer', () => {
    const json = JSON.stringify(report);
    for (const leak of ['Jane', '55512', 'Smith', 'wife', 'ward', 'not-a-code-of-ours']) expect(json, leak).not.toContain(leak);
  });

  it('stores the feedback all the same: a resend is a duplicate, not lost or refused', async () => {
    expect(await store.recordFeedback(SERVICE, [overridden(3, { system: 'urn:ehr:local', code: 'Pt Jane Doe MRN 55512', display: 'Jane Doe MRN 55512 refused' })])).toEqual({
      stored: 0,
      duplicates: 1,
      unknownCards: 0,
    });
    expect((await store.counts()).feedback).toBe(7);
  });
});
