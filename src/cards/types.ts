import type { Resource } from 'fhir/r4';

/** CDS Hooks 2.0 response objects (checklist section 4). Optional fields are omitted, never null/empty. */
export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export interface Link {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
}

export interface Action {
  type: 'create' | 'update' | 'delete';
  description: string;
  resource?: Resource;
  resourceId?: string;
}

export interface Suggestion {
  label: string;
  uuid: string;
  isRecommended?: boolean;
  actions?: Action[];
}

export interface Card {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; url?: string; icon?: string; topic?: Coding };
  suggestions?: Suggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: Coding[];
  links?: Link[];
  /** CDS Hooks 2.0 extension: provenance for machines (src/cards/render.ts, PROVENANCE_EXTENSION). */
  extension?: Record<string, unknown>;
}

export interface CdsResponse {
  cards: Card[];
  systemActions?: Action[];
}
