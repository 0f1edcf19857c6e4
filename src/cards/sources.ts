/**
 * The sources a rule may cite, with the absolute URLs of docs/clinical-rules.md "Sources". Seeds (S0–S4)
 * are internal documents without a public URL: cards name them in the detail but do not link them.
 */
export interface SourceReference {
  id: string;
  /** Short name for card labels and link labels. */
  label: string;
  url?: string;
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
    url: 'https://hsrc.himmelfarb.gwu.edu/gwhpubs/7313/',
  },
  'ACR-CHILD': {
    id: 'ACR-CHILD',
    label: 'ACR Appropriateness Criteria: Back Pain—Child',
    url: 'https://gravitas.acr.org/ACPortal/TopicNarrative?topicId=230',
  },
  'ACR-MYELO': {
    id: 'ACR-MYELO',
    label: 'ACR Appropriateness Criteria: Myelopathy',
    url: 'https://docslib.org/doc/4305600/acr-appropriateness-criteria%C2%AE-myelopathy',
  },
  ACP07: {
    id: 'ACP07',
    label: 'ACP/APS 2007 Low Back Pain Guideline (Chou et al.)',
    url: 'https://eguideline.guidelinecentral.com/i/76618/5',
  },
  ACP17: {
    id: 'ACP17',
    label: 'ACP 2017 Noninvasive Treatments for Low Back Pain',
    url: 'https://doi.org/10.7326/M16-2367',
  },
  NG59: {
    id: 'NG59',
    label: 'NICE NG59 Low Back Pain and Sciatica',
    url: 'https://www.nice.org.uk/guidance/ng59/chapter/Recommendations',
  },
  CW: {
    id: 'CW',
    label: 'Choosing Wisely (NASS): imaging for low back pain',
    url: 'https://www.aafp.org/afp/recommendations/viewRecommendation.htm?recommendationId=127',
  },
  CMS166: {
    id: 'CMS166',
    label: 'CMS166v7 / NQF 0052 Use of Imaging Studies for Low Back Pain',
    url: 'https://ecqi.healthit.gov/sites/default/files/ecqm/measures/CMS166v7.html',
  },
  HEDIS: {
    id: 'HEDIS',
    label: 'HEDIS Use of Imaging Studies for Low Back Pain',
    url: 'https://p4qm.org/measures/0052',
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
  'ACR-AAA': { id: 'ACR-AAA', label: 'ACR Appropriateness Criteria: Pulsatile Abdominal Mass, Suspected Abdominal Aortic Aneurysm' },
  NASS: { id: 'NASS', label: 'NASS Evidence-Based Clinical Guideline: Degenerative Lumbar Spinal Stenosis' },
  S0: { id: 'S0', label: 'Seed S0: back pain radiating to left arm and left leg' },
  S1: { id: 'S1', label: 'Seed S1: back and leg pain, differential' },
  S2: { id: 'S2', label: 'Seed S2: acute severe low back pain with right leg numbness' },
  S3: { id: 'S3', label: 'Seed S3: can back pain cause leg pain?' },
  S4: { id: 'S4', label: 'Seed S4: leg pain and numbness' },
};

export function sourceReference(id: string): SourceReference {
  return SOURCES[id] ?? { id, label: id };
}
