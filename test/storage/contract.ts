import { createHash, createHmac, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Card } from '../../src/cards/types.js';
import type { CardsIssued } from '../../src/storage/card-sink.js';
import { openStore, type FeedbackEntry, type Store, type StoreOptions } from '../../src/storage/index.js';
import { MIGRATIONS } from '../../src/storage/migrations.js';

/**
 * The one behaviour suite both back-ends must pass (issue 6: "both sit behind one small interface
 * and run the same test suite"). Each back-end supplies fresh databases and raw SQL access.
 */
export interface Backend {
  /** A DATABASE_URL for an empty database. */
  newDatabaseUrl(): Promise<string>;
  /** Runs SQL on that database outside the store (inspection, fault injection). */
  raw(databaseUrl: string, sql: string): Promise<Array<Record<string, unknown>>>;
}

const SERVICE = 'spine-cds-order-sign';
const DAY = 86_400_000;

export function card(topic: string | null, indicator: Card['indicator'] = 'warning', suggestions = 1): Card {
  return {
    uuid: randomUUID(),
    summary: `card ${topic}`,
    indicator,
    source: { label: 'spine-cds', ...(topic ? { topic: { system: 'urn:test:topics', code: topic } } : {}) },
    suggestions: Array.from({ length: suggestions }, (_, i) => ({ label: `s${i}`, uuid: randomUUID() })),
  };
}

export function issued(cards: Card[], patientId = 'patient-1', extra: Partial<CardsIssued> = {}): CardsIssued {
  return { serviceId: SERVICE, hook: 'order-sign', hookInstance: randomUUID(), patientId, cards, at: new Date(), ...extra };
}

const accepted = (c: Card, at = '2026-11-20T10:00:00Z'): FeedbackEntry => ({
  card: c.uuid,
  outcome: 'accepted',
  acceptedSuggestions: [{ id: c.suggestions![0]!.uuid }],
  outcomeTimestamp: at,
});
const overridden = (c: Card, code: string | null, comment?: string): FeedbackEntry => ({
  card: c.uuid,
  outcome: 'overridden',
  overrideReason: { ...(code ? { reason: { system: 'urn:test:reasons', code, display: `reason ${code}` } } : {}), ...(comment ? { userComment: comment } : {}) },
  outcomeTimestamp: '2026-11-20T11:00:00Z',
});

export function captureLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export function storeContract(name: string, backend: Backend): void {
  describe(`Store contract: ${name}`, () => {
    const open: Store[] = [];
    const openOn = async (url: string, opts: Partial<StoreOptions> = {}): Promise<Store> => {
      const store = await openStore(url, { logger: captureLogger().logger, retentionDays: 400, ...opts });
      open.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('records issued cards in the background: cardsIssued returns before anything is written', async () => {
      const store = await openOn(await backend.newDatabaseUrl());
      const cards = [card('low-value-imaging'), card('conservative-care', 'info', 0)];
      const result = store.cardsIssued(issued(cards, 'p1', { issuer: 'https://ehr.example', tenant: 't1' })) as unknown;
      expect(result).toBeUndefined();
      // Nothing can have been written yet: the write waits for the next turn of the event loop.
      expect(store.stats()).toMatchObject({ queued: 2, written: 0 });
      await store.flush();
      expect(store.stats()).toMatchObject({ queued: 0, written: 2, failed: 0 });
      expect(await store.counts()).toEqual({ issuedCards: 2, feedback: 0, unknownCardFeedback: 0 });
    });

    it('stores card uuid, service, topic, indicator, suggestion uuids, hookInstance, issuer and tenant', async () => {
      const url = await backend.newDatabaseUrl();
      const store = await openOn(url);
      const c = card('motor-deficit', 'critical', 2);
      const event = issued([c], 'p1', { issuer: 'https://ehr.example', tenant: 'north' });
      store.cardsIssued(event);
      await store.flush();
      const [row] = await backend.raw(url, `SELECT * FROM issued_cards WHERE card_uuid = '${c.uuid}'`);
      expect(row).toMatchObject({
        service_id: SERVICE,
        hook: 'order-sign',
        hook_instance: event.hookInstance,
        topic: 'motor-deficit',
        indicator: 'critical',
        issuer: 'https://ehr.example',
        tenant: 'north',
      });
      const suggestions = typeof row!.suggestion_uuids === 'string' ? JSON.parse(row!.suggestion_uuids) : row!.suggestion_uuids;
      expect(suggestions).toEqual(c.suggestions!.map((s) => s.uuid));
    });

    it('never stores a patient identifier in clear, only a keyed hash', async () => {
      const url = await backend.newDatabaseUrl();
      const store = await openOn(url);
      store.cardsIssued(issued([card('elevated-risk', 'info')], 'MRN-0042'));
      await store.flush();
      const rows = await backend.raw(url, 'SELECT * FROM issued_cards');
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain('MRN-0042');
      const hash = String(rows[0]!.patient_hash);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      // Not a plain (unkeyed) hash that anyone could recompute from a guessed MRN.
      expect(hash).not.toBe(createHash('sha256').update('MRN-0042').digest('hex'));
    });

    it('uses PATIENT_HASH_KEY when given, and keeps a generated key across restarts otherwise', async () => {
      const url = await backend.newDatabaseUrl();
      const key = 'k'.repeat(40);
      const keyed = await openOn(url, { patientKey: key });
      keyed.cardsIssued(issued([card('elevated-risk', 'info')], 'p-7'));
      await keyed.close();
      const [row] = await backend.raw(url, 'SELECT patient_hash FROM issued_cards');
      expect(row!.patient_hash).toBe(createHmac('sha256', key).update('p-7').digest('hex'));
      await expect(openStore(url, { logger: captureLogger().logger, retentionDays: 0, patientKey: 'short' })).rejects.toThrow(/at least 32/);

      const url2 = await backend.newDatabaseUrl();
      const first = await openOn(url2);
      first.cardsIssued(issued([card('elevated-risk', 'info')], 'same-patient'));
      await first.close();
      const second = await openOn(url2);
      second.cardsIssued(issued([card('elevated-risk', 'info')], 'same-patient'));
      second.cardsIssued(issued([card('elevated-risk', 'info')], 'other-patient'));
      await second.flush();
      const report = await second.report({ since: new Date(Date.now() - DAY) });
      expect(report.rows).toEqual([expect.objectContaining({ topic: 'elevated-risk', cardsIssued: 3, patients: 2 })]);
    });

    it('stores feedback once: a resent entry, or the same instant spelled differently, is a duplicate', async () => {
      const store = await openOn(await backend.newDatabaseUrl());
      const c = card('low-value-imaging');
      store.cardsIssued(issued([c]));
      const entry = accepted(c, '2026-11-20T10:00:00Z');
      expect(await store.recordFeedback(SERVICE, [entry])).toEqual({ stored: 1, duplicates: 0, unknownCards: 0 });
      expect(await store.recordFeedback(SERVICE, [entry])).toEqual({ stored: 0, duplicates: 1, unknownCards: 0 });
      const sameInstant = { ...entry, outcomeTimestamp: '2026-11-20T10:00:00.000+00:00' };
      expect(await store.recordFeedback(SERVICE, [sameInstant, entry])).toEqual({ stored: 0, duplicates: 2, unknownCards: 0 });
      // A different outcome for the same card is a different entry.
      expect(await store.recordFeedback(SERVICE, [overridden(c, 'patient-declined')])).toEqual({ stored: 1, duplicates: 0, unknownCards: 0 });
      expect((await store.counts()).feedback).toBe(2);
    });

    it('stores concurrent identical submissions once', async () => {
      const store = await openOn(await backend.newDatabaseUrl());
      const c = card('low-value-imaging');
      store.cardsIssued(issued([c]));
      const entry = overridden(c, 'already-done');
      const results = await Promise.all(Array.from({ length: 5 }, () => store.recordFeedback(SERVICE, [entry])));
      expect(results.reduce((n, r) => n + r.stored, 0)).toBe(1);
      expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(4);
      expect((await store.counts()).feedback).toBe(1);
    });

    it('stores feedback on unknown cards and flags it', async () => {
      const url = await backend.newDatabaseUrl();
      const store = await openOn(url);
      const ghost = card('low-value-imaging');
      const result = await store.recordFeedback(SERVICE, [accepted(ghost)], { iss: 'https://ehr.example', tenant: 'south' });
      expect(result).toEqual({ stored: 1, duplicates: 0, unknownCards: 1 });
      expect(await store.counts()).toEqual({ issuedCards: 0, feedback: 1, unknownCardFeedback: 1 });
      const [row] = await backend.raw(url, 'SELECT card_uuid, issuer, tenant FROM feedback');
      expect(row).toEqual({ card_uuid: ghost.uuid, issuer: 'https://ehr.example', tenant: 'south' });
      const report = await store.report({ since: new Date('2026-01-01T00:00:00Z') });
      expect(report.rows).toEqual([expect.objectContaining({ serviceId: SERVICE, topic: '(unknown card)', cardsIssued: 0, accepted: 1 })]);
    });

    it('joins feedback to a card issued a moment before, even if the card was still queued', async () => {
      const store = await openOn(await backend.newDatabaseUrl());
      const c = card('conservative-care', 'info');
      store.cardsIssued(issued([c]));
      expect(await store.recordFeedback(SERVICE, [accepted(c)])).toEqual({ stored: 1, duplicates: 0, unknownCards: 0 });
    });

    it('reports per service and topic: issued, accepted, overridden, top override reasons, acceptance rate', async () => {
      const store = await openOn(await backend.newDatabaseUrl());
      const low = Array.from({ length: 6 }, () => card('low-value-imaging'));
      const cauda = card('cauda-equina', 'critical');
      const bare = card(null, 'info', 0);
      store.cardsIssued(issued(low.slice(0, 3), 'p1'));
      store.cardsIssued(issued(low.slice(3), 'p2'));
      store.cardsIssued(issued([cauda, bare], 'p1', { serviceId: 'spine-cds-patient-view', hook: 'patient-view' }));
      const old = card('low-value-imaging');
      store.cardsIssued(issued([old], 'p3', { at: new Date(Date.now() - 40 * DAY) }));
      await store.recordFeedback(SERVICE, [
        accepted(low[0]!),
        overridden(low[1]!, 'patient-preference'),
        overridden(low[2]!, 'patient-preference'),
        overridden(low[3]!, 'clinical-judgement'),
        overridden(low[4]!, null, 'free text only'),
        // Outside the window: its card was issued 40 days ago.
        overridden(old, 'clinical-judgement'),
      ]);
      await store.recordFeedback('spine-cds-patient-view', [accepted(cauda)]);

      const report = await store.report({ since: new Date(Date.now() - 30 * DAY) });
      expect(report.rows.map((r) => [r.serviceId, r.topic])).toEqual([
        ['spine-cds-order-sign', 'low-value-imaging'],
        ['spine-cds-patient-view', '(no topic)'],
        ['spine-cds-patient-view', 'cauda-equina'],
      ]);
      const lowRow = report.rows[0]!;
      expect(lowRow).toMatchObject({ cardsIssued: 6, patients: 2, accepted: 1, overridden: 4, acceptanceRate: 0.2 });
      // Codes of a system the service does not offer are counted in one bucket per system, never named.
      expect(lowRow.topOverrideReasons).toEqual([
        { label: 'Other reason (not offered by this service)', system: 'urn:test:reasons', cards: 3 },
        { label: '(comment only)', cards: 1 },
      ]);
      expect(JSON.stringify(report)).not.toMatch(/patient-preference|clinical-judgement/);
      expect(report.rows[1]).toMatchObject({ cardsIssued: 1, accepted: 0, overridden: 0, acceptanceRate: null });
      expect(report.rows[2]).toMatchObject({ cardsIssued: 1, accepted: 1, acceptanceRate: 1 });

      const all = await store.report({ since: new Date(Date.now() - 60 * DAY) });
      expect(all.rows[0]).toMatchObject({ cardsIssued: 7, overridden: 5 });
    });

    it('purges records older than the retention period; 0 keeps everything', async () => {
      const url = await backend.newDatabaseUrl();
      const store = await openOn(url, { retentionDays: 30, maintenance: false });
      const fresh = card('low-value-imaging');
      const stale = card('low-value-imaging');
      store.cardsIssued(issued([fresh]));
      store.cardsIssued(issued([stale], 'p1', { at: new Date(Date.now() - 31 * DAY) }));
      await store.recordFeedback(SERVICE, [accepted(fresh)]);
      expect(await store.purge(new Date(Date.now() + 29 * DAY))).toEqual({ cards: 1, feedback: 0 });
      expect(await store.purge(new Date(Date.now() + 31 * DAY))).toEqual({ cards: 1, feedback: 1 });
      expect(await store.counts()).toMatchObject({ issuedCards: 0, feedback: 0 });

      const forever = await openOn(await backend.newDatabaseUrl(), { retentionDays: 0, maintenance: false });
      forever.cardsIssued(issued([card('x')], 'p1', { at: new Date(0) }));
      await forever.flush();
      expect(await forever.purge(new Date())).toEqual({ cards: 0, feedback: 0 });
      expect((await forever.counts()).issuedCards).toBe(1);
    });

    it('a failed card write is logged and counted, never thrown, and later writes still work', async () => {
      const url = await backend.newDatabaseUrl();
      const { logger, lines } = captureLogger();
      const store = await openStore(url, { logger, retentionDays: 400 });
      open.push(store);
      await backend.raw(url, 'ALTER TABLE issued_cards RENAME TO issued_cards_away');
      expect(() => store.cardsIssued(issued([card('a'), card('b')]))).not.toThrow();
      await store.flush();
      expect(store.stats()).toMatchObject({ failed: 2, written: 0, queued: 0 });
      expect(lines().some((l) => l.msg === 'card store write failed: issued cards not recorded' && l.level === 50)).toBe(true);
      await backend.raw(url, 'ALTER TABLE issued_cards_away RENAME TO issued_cards');
      store.cardsIssued(issued([card('c')]));
      await store.flush();
      expect(store.stats()).toMatchObject({ failed: 2, written: 1 });
    });

    it('drops and counts card events beyond the queue limit instead of growing memory', async () => {
      const { logger, lines } = captureLogger();
      const store = await openStore(await backend.newDatabaseUrl(), { logger, retentionDays: 400, maxQueue: 2 });
      open.push(store);
      for (let i = 0; i < 4; i++) store.cardsIssued(issued([card('a')]));
      await store.flush();
      expect(store.stats()).toMatchObject({ written: 2, failed: 2 });
      expect(lines().some((l) => l.msg === 'card store queue full: issued cards dropped')).toBe(true);
    });

    it('the batch timer firing after an explicit flush leaves the writer usable (regression: flush spun for ever)', async () => {
      const store = await openOn(await backend.newDatabaseUrl(), { batchDelayMs: 1 });
      store.cardsIssued(issued([card('a')]));
      await store.flush();
      // Let the batch timer fire on the now empty queue.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await store.flush();
      store.cardsIssued(issued([card('b')]));
      await store.flush();
      expect(store.stats()).toMatchObject({ written: 2, queued: 0 });
    });

    it('close() writes what is still queued; reopening runs no migration twice', async () => {
      const url = await backend.newDatabaseUrl();
      const store = await openOn(url);
      store.cardsIssued(issued([card('a'), card('b'), card('c')]));
      await store.close();
      expect(store.ready()).toBe(false);
      const again = await openOn(url);
      expect(again.ready()).toBe(true);
      expect((await again.counts()).issuedCards).toBe(3);
      expect(await backend.raw(url, 'SELECT version FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    });
  });
}
