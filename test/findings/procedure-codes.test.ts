import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectLoadFailure, shippedMappings, useMappingsCopy } from './support.js';

/**
 * Prior lumbar surgery and recent spinal procedures as real EHRs code them (issue 13): ICD-10-PCS
 * table rows as is-a filters on the leading characters, CPT listed in full, and the name fallback.
 */
const PCS = 'http://www.cms.gov/Medicare/Coding/ICD10';
const CPT = 'http://www.ama-assn.org/go/cpt';

async function lumbarSurgery() {
  const vs = (await shippedMappings()).valueSets.get('lumbar-spine-surgery');
  if (!vs) throw new Error('lumbar-spine-surgery not loaded');
  return vs;
}

describe('lumbar-spine-surgery: ICD-10-PCS table rows', () => {
  it.each([
    ['0SG0070', 'fusion of lumbar vertebral joint'],
    ['0SG1071', 'fusion of 2 or more lumbar vertebral joints'],
    ['0SG30AJ', 'fusion of lumbosacral joint'],
    ['0SB24ZZ', 'excision of lumbar vertebral disc, percutaneous endoscopic'],
    ['0SB40ZZ', 'excision of lumbosacral disc'],
    ['0ST20ZZ', 'resection of lumbar vertebral disc'],
    ['00NY0ZZ', 'release lumbar spinal cord'],
  ])('%s (%s) is lumbar surgery', async (code) => {
    expect((await lumbarSurgery()).lookup(PCS, code)).toBeDefined();
  });

  it.each([
    ['0RG10A0', 'fusion of cervical vertebral joint'],
    ['0RG6070', 'fusion of thoracic vertebral joint'],
    ['0SG7070', 'fusion of right sacroiliac joint (body part 7, outside the lumbar rows)'],
    ['0SB2', 'a fragment, not a code'],
    ['0sg0070', 'lower case is not how PCS is written'],
  ])('%s (%s) is not', async (code) => {
    expect((await lumbarSurgery()).lookup(PCS, code)).toBeUndefined();
  });

  it('a PCS filter under another system does not match (the filter is per system)', async () => {
    expect((await lumbarSurgery()).lookup('http://hl7.org/fhir/sid/icd-10-cm', '0SG0070')).toBeUndefined();
  });
});

describe('lumbar-spine-surgery: CPT in full, lumbar only', () => {
  it.each(['63005', '63012', '63017', '63030', '63042', '63047', '63056', '22558', '22612', '22630', '22633'])('%s is lumbar surgery', async (code) => {
    expect((await lumbarSurgery()).lookup(CPT, code)).toBeDefined();
  });
  it.each([
    ['63001', 'cervical laminectomy'],
    ['63045', 'cervical laminectomy, facetectomy and foraminotomy'],
    ['22551', 'anterior cervical interbody arthrodesis'],
    ['22600', 'posterior cervical arthrodesis'],
  ])('%s (%s) is not', async (code) => {
    expect((await lumbarSurgery()).lookup(CPT, code)).toBeUndefined();
  });
});

describe('lumbar-spine-surgery: names', () => {
  const named = async (text: string) => (await lumbarSurgery()).nameMatcher?.match([text]);
  it.each([
    'L4-5 decompression',
    'Decompression L5-S1',
    'L4-L5 fusion',
    'Fusion of Lumbar Vertebral Joint with Interbody Fusion Device, Posterior Approach, Anterior Column, Open Approach',
    'Fusion of 2 or more Lumbar Vertebral Joints with Autologous Tissue Substitute',
    'Excision of Lumbar Vertebral Disc, Percutaneous Endoscopic Approach',
    'Release Lumbar Spinal Cord, Open Approach',
    'Microdiscectomy L5/S1',
  ])('"%s" is lumbar surgery', async (text) => {
    expect(await named(text)).toBe(text);
  });
  it.each([
    'Labour epidural analgesia',
    'C5-6 anterior cervical discectomy and fusion',
    'Decompression C5-6',
    'Bowel decompression',
    'Carpal tunnel decompression',
    'Posterior cervical fusion',
    'Lumbar fusion planned',
    'Spinal fusion, thoracic T10-L2',
  ])('"%s" is not', async (text) => {
    expect(await named(text)).toBeUndefined();
  });
});

describe('spinal-injection: epidural and facet codes of every level', () => {
  it.each(['62320', '62321', '62322', '62323', '62324', '62325', '62326', '62327', '64479', '64480', '64483', '64484', '64490', '64491', '64492', '64493', '64494', '64495'])('%s is a spinal injection', async (code) => {
    expect((await shippedMappings()).valueSets.get('spinal-injection')?.lookup(CPT, code)).toBeDefined();
  });
});

describe('a broken ICD-10-PCS filter stops loading', () => {
  const copy = useMappingsCopy();
  const withFilter = async (filter: Record<string, string>): Promise<void> => {
    const file = path.join(copy.dir(), 'valuesets/lumbar-spine-surgery.json');
    const vs = JSON.parse(await readFile(file, 'utf8')) as { compose: { include: { system?: string; filter?: unknown[] }[] } };
    const pcs = vs.compose.include.find((i) => i.system === PCS && i.filter);
    if (!pcs) throw new Error('no PCS filter include');
    pcs.filter = [filter];
    await writeFile(file, JSON.stringify(vs));
  };

  it.each([
    [{ property: 'concept', op: 'is-a', value: '0SG' }, /leading 4 to 6 characters/],
    [{ property: 'concept', op: 'is-a', value: '0SG0070' }, /leading 4 to 6 characters/],
    [{ property: 'concept', op: 'is-a', value: '0SI0' }, /leading 4 to 6 characters/],
    [{ property: 'concept', op: 'descendent-of', value: '0SG0' }, /not supported for ICD-10-PCS/],
    [{ property: 'code', op: 'is-a', value: '0SG0' }, /only "concept"/],
  ])('%j', async (filter, reason) => {
    await withFilter(filter);
    const e = await expectLoadFailure(copy.dir());
    expect(e.file).toMatch(/lumbar-spine-surgery\.json$/);
    expect(e.field).toMatch(/^compose\.include\[\d+\]\.filter\[0\]/);
    expect(e.reason).toMatch(reason);
  });
});
