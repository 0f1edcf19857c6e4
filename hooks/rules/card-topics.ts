/**
 * The card topics this content defines, one data file each (hooks/topics/<code>.yaml), and the rows
 * of its decision table (docs/clinical-rules.md, Card topics). The engine takes topics as plain codes;
 * the list lives here, with the rules, and the topic loader checks it against the files both ways.
 */
export const CARD_TOPICS = [
  'cauda-equina',
  'myelopathy',
  'motor-deficit',
  'malignancy-suspected',
  'infection-suspected',
  'elevated-risk',
  'bilateral-radiculopathy',
  'conservative-care',
  'persistent-radiculopathy',
  'low-value-imaging',
  'insufficient-data',
  // Mimickers: non-spinal causes of back and leg pain (hooks/rules/mimickers.ts).
  'vascular-emergency',
  'possible-aaa',
  'dvt-suspected',
  'vascular-claudication',
  'spinal-stenosis',
  'neuropathy-workup',
  'hip-pathology',
  // issue 13: children (under RULE_ADULT_MINIMUM_AGE), outside the adult decision table
  'child-back-pain',
] as const;
export type CardTopic = (typeof CARD_TOPICS)[number];

/** D1–D13: the decision table; M1–M8: the mimickers; P1: children, to whom the adult table's judgements do not apply. */
export const DECISION_ROWS = ['D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7', 'D8', 'D9', 'D10', 'D13', 'M1', 'M2', 'M3', 'M4', 'M5', 'M7', 'M8', 'P1'] as const;
export type DecisionRowId = (typeof DECISION_ROWS)[number];
