import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClinicalFixtures } from '../clinical/fixture.js';
import { startService, type RunningService } from '../support/service.js';
import { cardForReview, cardsFor } from './support.js';

/**
 * One rendered card per card topic, through the real service from a realistic request (a clinical
 * fixture), kept as a committed file under __snapshots__/: a change of a card's words is a diff a
 * clinician can review. After an intended wording change: `npx vitest run test/cards -u`.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOPIC_CODES: string[] = (
  JSON.parse(readFileSync(path.join(HERE, '../../mappings/codesystems/card-topic.json'), 'utf8')) as { concept: { code: string }[] }
).concept.map((c) => c.code);

/** The case each topic's card is reviewed on: the typical patient for it, chosen by a clinician. */
const CASE_FOR_TOPIC: Record<string, string> = {
  'cauda-equina': 'd01-ces-urinary-retention.json',
  myelopathy: 'd02-myelopathy.json',
  'motor-deficit': 'd03-foot-drop.json',
  'malignancy-suspected': 'd04-age-over-50-weight-loss.json',
  'infection-suspected': 'edge-units-crp-mg-dl.json',
  'elevated-risk': 'd06-iv-drug-use.json',
  'bilateral-radiculopathy': 'd07-bilateral-sciatica.json',
  'conservative-care': 'd08-acute-low-back-pain.json',
  'persistent-radiculopathy': 'd09-persistent-sciatica.json',
  'low-value-imaging': 'd10-low-value-lumbar-mri.json',
  'insufficient-data': 'edge-unknown-onset.json',
  'vascular-emergency': 'mim-m1-aaa-back-pain.json',
  'possible-aaa': 'mim-m2-possible-aaa.json',
  'dvt-suspected': 'mim-m3-dvt-cancer-estradiol.json',
  'vascular-claudication': 'mim-m4-vascular-claudication.json',
  'spinal-stenosis': 'mim-m5-lumbar-stenosis.json',
  'neuropathy-workup': 'mim-m7-diabetic-neuropathy.json',
  'hip-pathology': 'mim-m8-hip-osteoarthritis.json',
  'child-back-pain': 'x13-child-radicular.json',
};

const fixtures = new Map(loadClinicalFixtures().map(({ file, fixture }) => [file, fixture]));
let service: RunningService;
let clock = new Date();

beforeAll(async () => {
  service = await startService({}, { now: () => clock });
}, 120_000);
afterAll(async () => {
  await service?.close();
});

describe('one reviewed card per topic', () => {
  it('covers every topic of the card-topic code system', () => {
    expect(Object.keys(CASE_FOR_TOPIC).sort()).toEqual([...TOPIC_CODES].sort());
  });

  it.each(Object.entries(CASE_FOR_TOPIC))('%s (%s)', async (topic, file) => {
    const fixture = fixtures.get(file);
    if (!fixture) throw new Error(`no clinical fixture ${file}`);
    const cards = await cardsFor(service, fixture, (now) => (clock = now));
    const card = cards.find((c) => c.source.topic?.code === topic);
    expect(card, `${file} gives no ${topic} card`).toBeDefined();
    await expect(cardForReview(card!)).toMatchFileSnapshot(`./__snapshots__/${topic}.md`);
  });
});
