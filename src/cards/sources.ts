/**
 * The sources a rule may cite, each with its primary publication (docs/clinical-rules.md, Sources):
 * the journal DOI, or the issuing body's own page (NICE, ACR, CMS, NCQA), never a secondary copy.
 * Seeds (S0–S4) are the internal documents the logic was first drawn from; they are not primary
 * sources, so cards neither name nor link them: their ids stay in the card's provenance extension.
 */
export interface SourceReference {
  id: string;
  /** Short name for card labels and link labels. */
  label: string;
  url?: string;
  /** A seed document: provenance only, never shown to the clinician. */
  seed?: true;
}

export const SOURCES: Readonly<Record<string, SourceReference>> = {
  'ACR-LBP': {
    id: 'ACR-LBP',
    label: 'ACR Appropriateness Criteria: Low Back Pain',
    url: 'https://acsearch.acr.org/list/GetAppendix?PanelName=Neurologic&TopicId=141',
  },
  'ACR-CERVICAL': {
    id: 'ACR-CERVICAL',
    label: 'ACR Appropriateness Criteria: Cervical Neck Pain or Cervical Radiculopathy',
    url: 'https://acsearch.acr.org/list',
  },
  'ACR-CHILD': {
    id: 'ACR-CHILD',
    label: 'ACR Appropriateness Criteria: Back Pain—Child',
    url: 'https://gravitas.acr.org/ACPortal/TopicNarrative?topicId=230',
  },
  'ACR-MYELO': {
    id: 'ACR-MYELO',
    label: 'ACR Appropriateness Criteria: Myelopathy',
    url: 'https://doi.org/10.1016/j.jacr.2021.01.020',
  },
  ACP07: {
    id: 'ACP07',
    label: 'ACP/APS 2007 Low Back Pain Guideline (Chou et al.)',
    url: 'https://doi.org/10.7326/0003-4819-147-7-200710020-00006',
  },
  ACP17: {
    id: 'ACP17',
    label: 'ACP 2017 Noninvasive Treatments for Low Back Pain',
    url: 'https://doi.org/10.7326/M16-2367',
  },
  NG59: {
    id: 'NG59',
    label: 'NICE NG59 Low Back Pain and Sciatica',
    url: 'https://www.nice.org.uk/guidance/ng59',
  },
  // Cited by name in the card's words: its publisher (the ABIM Foundation) keeps no stable page per item.
  CW: { id: 'CW', label: 'Choosing Wisely (NASS): imaging for low back pain' },
  CMS166: {
    id: 'CMS166',
    label: 'CMS166v7 / NQF 0052 Use of Imaging Studies for Low Back Pain',
    url: 'https://ecqi.healthit.gov/sites/default/files/ecqm/measures/CMS166v7.html',
  },
  HEDIS: {
    id: 'HEDIS',
    label: 'HEDIS Use of Imaging Studies for Low Back Pain',
    url: 'https://www.ncqa.org/hedis/measures/use-of-imaging-studies-for-low-back-pain/',
  },
  GIRFT: {
    id: 'GIRFT',
    label: 'GIRFT National Suspected Cauda Equina Syndrome Pathway',
    url: 'https://gettingitrightfirsttime.co.uk/pathway-supports-clinicians-to-diagnose-and-treat-cauda-equina-syndrome-without-delay/',
  },
  FEHLINGS: {
    id: 'FEHLINGS',
    label: 'Fehlings 2017 Degenerative Cervical Myelopathy Guideline',
    url: 'https://doi.org/10.1177/2192568217701914',
  },
  'ARGONAUT-PAMA': {
    id: 'ARGONAUT-PAMA',
    label: 'Argonaut CDS Hooks for PAMA',
    url: 'https://github.com/argonautproject/cds-hooks-for-pama',
  },
  NG156: {
    id: 'NG156',
    label: 'NICE NG156 Abdominal Aortic Aneurysm: Diagnosis and Management',
    url: 'https://www.nice.org.uk/guidance/ng156',
  },
  NG158: {
    id: 'NG158',
    label: 'NICE NG158 Venous Thromboembolic Diseases: Diagnosis, Management and Thrombophilia Testing',
    url: 'https://www.nice.org.uk/guidance/ng158',
  },
  'ACR-AAA': {
    id: 'ACR-AAA',
    label: 'ACR Appropriateness Criteria: Pulsatile Abdominal Mass, Suspected Abdominal Aortic Aneurysm',
    url: 'https://acsearch.acr.org/list',
  },
  NASS: {
    id: 'NASS',
    label: 'NASS Guideline: Degenerative Lumbar Spinal Stenosis (Kreiner et al. 2013)',
    url: 'https://doi.org/10.1016/j.spinee.2012.11.059',
  },
  S0: { id: 'S0', label: 'back pain radiating to left arm and left leg', seed: true },
  S1: { id: 'S1', label: 'back and leg pain, differential', seed: true },
  S2: { id: 'S2', label: 'acute severe low back pain with right leg numbness', seed: true },
  S3: { id: 'S3', label: 'can back pain cause leg pain?', seed: true },
  S4: { id: 'S4', label: 'leg pain and numbness', seed: true },
};

export function sourceReference(id: string): SourceReference {
  return SOURCES[id] ?? { id, label: id };
}
