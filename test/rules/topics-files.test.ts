import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkTopicSources, defaultTopicsDir, loadSharedPhrases, loadSources, loadTopics, PHRASES, SOURCES, TOPIC_CONTRACTS, TOPICS } from '../../hooks/rules/topics.js';
import { loadRuleKnowledge } from '../../hooks/rules/knowledge.js';
import { CARD_TOPICS } from '../../hooks/rules/card-topics.js';
import { KnowledgeFileError } from '../../src/knowledge/knowledge-file-error.js';
import { CARD_TOPIC_CODESYSTEM, withTopicProperties } from '../../scripts/card-topics.js';
import { MAPPINGS_DIR } from './support.js';

let dir: string;

beforeEach(async () => {
  dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'topics-')), 'topics');
  await cp(defaultTopicsDir(), dir, { recursive: true });
});
afterEach(async () => {
  await rm(path.dirname(dir), { recursive: true, force: true });
});

async function edit(file: string, change: (text: string) => string): Promise<void> {
  const full = path.join(dir, file);
  await writeFile(full, change(await readFile(full, 'utf8')));
}

function loadError(): KnowledgeFileError {
  try {
    loadTopics(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(KnowledgeFileError);
    return err as KnowledgeFileError;
  }
  throw new Error('the topic files loaded');
}

describe('hooks/topics: one file per card topic', () => {
  it('loads the shipped files: one per topic, named by its code', () => {
    expect(Object.keys(loadTopics(dir)).sort()).toEqual([...CARD_TOPICS].sort());
  });

  it('names a missing file', async () => {
    await unlink(path.join(dir, 'myelopathy.yaml'));
    expect(loadError()).toMatchObject({ file: 'topics/myelopathy.yaml', path: '(file)' });
  });

  it('names a file that is not valid YAML', async () => {
    await edit('hip-pathology.yaml', (t) => `${t}\nsummary: [unclosed\n`);
    expect(loadError()).toMatchObject({ file: 'topics/hip-pathology.yaml', path: '(file)' });
  });

  it('names the field that breaks the schema', async () => {
    await edit('motor-deficit.yaml', (t) => t.replace('indicator: warning', 'indicator: urgent'));
    expect(loadError()).toMatchObject({ file: 'topics/motor-deficit.yaml', path: 'indicator' });
  });

  it('rejects a placeholder the rule does not fill, naming the template', async () => {
    await edit('motor-deficit.yaml', (t) => t.replace('MRI {regions} spine without contrast', 'MRI {region} spine without contrast'));
    const err = loadError();
    expect(err).toMatchObject({ file: 'topics/motor-deficit.yaml', path: 'guidance.default[0]' });
    expect(err.reason).toContain('{region}');
  });

  it('rejects a template variant the rule never shows, and a missing one', async () => {
    await edit('infection-suspected.yaml', (t) => t.replace('epidural-abscess:', 'epidural-absess:'));
    expect(loadError()).toMatchObject({ file: 'topics/infection-suspected.yaml', path: 'summary.epidural-abscess' });
  });

  it('rejects an order key that is no catalog key', async () => {
    await edit('cauda-equina.yaml', (t) => t.replace('key: mri-lumbar-wo', 'key: MRI lumbar'));
    expect(loadError()).toMatchObject({ file: 'topics/cauda-equina.yaml', path: 'orders.default[0].key' });
  });

  it('rejects a file whose code is not its name', async () => {
    await edit('possible-aaa.yaml', (t) => t.replace('code: possible-aaa', 'code: dvt-suspected'));
    expect(loadError()).toMatchObject({ file: 'topics/possible-aaa.yaml', path: 'code' });
  });

  it('rejects a file that is no card topic', async () => {
    await writeFile(path.join(dir, 'sciatica.yaml'), 'code: sciatica\n');
    expect(loadError()).toMatchObject({ file: 'topics/sciatica.yaml' });
  });

  it('lets an informaticist reword a card: the new words reach the rule', async () => {
    await edit('hip-pathology.yaml', (t) => t.replace('Examine the hip: pain on internal rotation', 'Examine the hip joint: pain on internal rotation'));
    expect(loadTopics(dir)['hip-pathology'].guidance('default')[0]).toMatch(/^Examine the hip joint:/);
  });

  it('leaves {labs} to the renderer and fills the rule\'s own placeholders', () => {
    const summary = TOPICS['malignancy-suspected'].summary('default', { regions: 'lumbar' });
    expect(summary).toBe('Possible spinal malignancy: urgent MRI lumbar spine (with and without contrast), {labs}');
    expect(TOPICS['neuropathy-workup'].summary('default')).toContain('{labs|glucose}');
  });
});

describe('hooks/topics and the published code system', () => {
  it('cites only sources the cards can name', () => {
    for (const topic of CARD_TOPICS) for (const id of TOPICS[topic].sources) expect(SOURCES[id], `${topic}: ${id}`).toBeDefined();
  });

  it('proposes only orders of the order catalog, for every region a rule may name', async () => {
    const knowledge = await loadRuleKnowledge(MAPPINGS_DIR);
    const regions = ['cervical', 'lumbar'] as const;
    for (const topic of CARD_TOPICS) {
      for (const variant of TOPIC_CONTRACTS[topic].orders ?? []) {
        for (const o of TOPICS[topic].orders(variant, regions)) expect(knowledge.orders.has(o.key), `${topic} ${variant}: ${o.key}`).toBe(true);
      }
    }
  });

  it('override reasons exist in mappings/codesystems/override-reason.json', async () => {
    const knowledge = await loadRuleKnowledge(MAPPINGS_DIR);
    for (const topic of CARD_TOPICS) for (const code of TOPICS[topic].overrideReasons) expect(knowledge.overrideReasons.has(code), `${topic}: ${code}`).toBe(true);
  });

  // The topic files are the source of truth; card-topic.json publishes the same row and indicator.
  it('card-topic.json says the same decision row and indicator as each topic file', () => {
    const cs = JSON.parse(readFileSync(path.join(MAPPINGS_DIR, 'codesystems/card-topic.json'), 'utf8')) as {
      concept: { code: string; property: { code: string; valueString?: string; valueCode?: string }[] }[];
    };
    const published = Object.fromEntries(
      cs.concept.map((c) => [c.code, { row: c.property.find((p) => p.code === 'decision-row')?.valueString, indicator: c.property.find((p) => p.code === 'indicator')?.valueCode }]),
    );
    const files = Object.fromEntries(CARD_TOPICS.map((t) => [t, { row: TOPICS[t].row, indicator: TOPICS[t].indicator }]));
    expect(published).toEqual(files);
  });
});

describe('hooks/sources.yaml: the sources as data', () => {
  const sourcesFile = () => path.join(path.dirname(dir), 'sources.yaml');
  beforeEach(async () => {
    await cp(path.join(defaultTopicsDir(), '..', 'sources.yaml'), sourcesFile());
  });

  it('a topic citing a source the file does not have stops the load, naming the topic file and the place', async () => {
    await edit('myelopathy.yaml', (t) => t.replace('sources:\n', 'sources:\n  - NOT-A-SOURCE\n'));
    const topics = loadTopics(dir);
    expect(() => checkTopicSources(topics, loadSources(sourcesFile()), dir)).toThrow(
      expect.objectContaining({ file: 'topics/myelopathy.yaml', path: 'sources[0]' }) as Error,
    );
  });

  it('refuses a link that is not https, and a field the file does not define', async () => {
    const text = await readFile(sourcesFile(), 'utf8');
    await writeFile(sourcesFile(), text.replace('url: https://www.nice.org.uk/guidance/ng59', 'url: http://www.nice.org.uk/guidance/ng59'));
    expect(() => loadSources(sourcesFile())).toThrow(KnowledgeFileError);
    await writeFile(sourcesFile(), `${text}NG59-COPY:\n  label: "x"\n  doi: "10.1/x"\n`);
    expect(() => loadSources(sourcesFile())).toThrow(expect.objectContaining({ path: 'NG59-COPY' }) as Error);
  });

  it('a changed label reaches the card link without touching TypeScript', async () => {
    const text = await readFile(sourcesFile(), 'utf8');
    await writeFile(sourcesFile(), text.replace('label: "NICE NG59 Low Back Pain and Sciatica"', 'label: "NICE NG59 (2020 update)"'));
    expect(loadSources(sourcesFile()).NG59?.label).toBe('NICE NG59 (2020 update)');
    expect(SOURCES.NG59?.url).toBe('https://www.nice.org.uk/guidance/ng59');
  });
});

describe('hooks/phrases.yaml: words no one topic owns', () => {
  const phrasesFile = () => path.join(path.dirname(dir), 'phrases.yaml');
  beforeEach(async () => {
    await cp(path.join(defaultTopicsDir(), '..', 'phrases.yaml'), phrasesFile());
  });
  const rewrite = async (change: (text: string) => string) => writeFile(phrasesFile(), change(await readFile(phrasesFile(), 'utf8')));

  it('fills the shipped phrases and names modalities as a clinician says them', () => {
    expect(PHRASES.phrase('unchecked-red-flags', { checks: 'fever; night pain' })).toBe('Red-flag checks not made (no data on record): fever; night pain.');
    expect(PHRASES.modality('MR')).toBe('MRI');
    expect(PHRASES.modality('PT')).toBe('PT');
  });

  it('a changed wording is what the rule gets, without touching TypeScript', async () => {
    await rewrite((t) => t.replace('no-spinal-red-flag: "no spinal red flag"', 'no-spinal-red-flag: "no red flag of spinal disease"'));
    expect(loadSharedPhrases(phrasesFile()).phrase('no-spinal-red-flag')).toBe('no red flag of spinal disease');
  });

  it('a missing phrase, an unknown one or a placeholder the rule does not fill stops the load, naming the place', async () => {
    const text = await readFile(phrasesFile(), 'utf8');
    await writeFile(phrasesFile(), text.replace(/^ {2}trial-missing: .*\n/m, ''));
    expect(() => loadSharedPhrases(phrasesFile())).toThrow(expect.objectContaining({ path: 'phrases.trial-missing' }) as Error);
    await writeFile(phrasesFile(), text.replace('phrases:\n', 'phrases:\n  brand-new: "x"\n'));
    expect(() => loadSharedPhrases(phrasesFile())).toThrow(expect.objectContaining({ path: 'phrases.brand-new' }) as Error);
    await writeFile(phrasesFile(), text.replace('{checks}.', '{checks} ({count}).'));
    expect(() => loadSharedPhrases(phrasesFile())).toThrow(expect.objectContaining({ path: 'phrases.unchecked-red-flags' }) as Error);
  });
});

describe('mappings/codesystems/card-topic.json against the topic files', () => {
  it('is what npm run knowledge:topics writes from the topic files', () => {
    const text = readFileSync(CARD_TOPIC_CODESYSTEM, 'utf8');
    expect(withTopicProperties(text)).toBe(text);
  });

  it('a hand edit of a row or indicator is put back from the topic file by the script', () => {
    const text = readFileSync(CARD_TOPIC_CODESYSTEM, 'utf8');
    const edited = text.replace('"valueCode": "critical"', '"valueCode": "info"');
    expect(edited).not.toBe(text);
    expect(withTopicProperties(edited)).toBe(text);
  });

  it('a card-topic.json that disagrees with a topic file stops the load, naming the concept', async () => {
    const mappings = path.join(path.dirname(dir), 'mappings');
    await cp(MAPPINGS_DIR, mappings, { recursive: true });
    const file = path.join(mappings, 'codesystems/card-topic.json');
    const cs = JSON.parse(await readFile(file, 'utf8')) as { concept: { code: string; property: { code: string; valueCode?: string }[] }[] };
    const i = cs.concept.findIndex((c) => c.code === 'myelopathy');
    const prop = cs.concept[i]?.property.find((p) => p.code === 'indicator');
    if (prop) prop.valueCode = 'warning';
    await writeFile(file, JSON.stringify(cs));
    await expect(loadRuleKnowledge(mappings)).rejects.toMatchObject({ file: 'mappings/codesystems/card-topic.json', path: `concept[${i}].property(indicator)` });
  });
});
