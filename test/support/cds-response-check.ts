/**
 * Checks a CDS Hooks 2.0 service response body against the MUSTs of the CDS Hooks 2.0 specification (https://cds-hooks.hl7.org/2.0/)
 * sections 0 (JSON rules) and 4 (response, card, suggestion, action, link, coding), plus our own
 * stricter rule that every card and every suggestion carries a uuid (feedback needs it).
 *
 * Returns one human-readable message per violation, each prefixed with a JSON path, so a failing
 * test shows exactly which field is wrong. An empty array means the body conforms.
 */

const INDICATORS = new Set(['info', 'warning', 'critical']);
const SELECTION_BEHAVIORS = new Set(['at-most-one', 'any']);
const ACTION_TYPES = new Set(['create', 'update', 'delete']);
const LINK_TYPES = new Set(['absolute', 'smart']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A relative FHIR reference `Type/id` (FHIR id: 1–64 of [A-Za-z0-9.-]). */
const RELATIVE_REFERENCE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9.-]{1,64}$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function isAbsoluteUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Section 0: no null, "", [], {} anywhere, except the top-level `cards: []`. */
function checkNoEmptyValues(value: unknown, path: string, errors: string[]): void {
  if (value === null) {
    errors.push(`${path}: null is not allowed (omit empty optional fields)`);
    return;
  }
  if (typeof value === 'string') {
    if (value === '') errors.push(`${path}: empty string is not allowed`);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0 && path !== '$.cards') errors.push(`${path}: empty array is not allowed`);
    value.forEach((item, i) => checkNoEmptyValues(item, `${path}[${i}]`, errors));
    return;
  }
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) errors.push(`${path}: empty object is not allowed`);
    for (const key of keys) checkNoEmptyValues(value[key], `${path}.${key}`, errors);
  }
}

function checkCoding(coding: unknown, path: string, errors: string[], displayRequired: boolean): void {
  if (!isObject(coding)) {
    errors.push(`${path}: Coding must be an object`);
    return;
  }
  if (!isNonEmptyString(coding.system)) errors.push(`${path}.system: required on a Coding`);
  if (!isNonEmptyString(coding.code)) errors.push(`${path}.code: required on a Coding`);
  if (displayRequired && !isNonEmptyString(coding.display)) {
    errors.push(`${path}.display: required (overrideReasons Codings must have a display)`);
  } else if (coding.display !== undefined && typeof coding.display !== 'string') {
    errors.push(`${path}.display: must be a string`);
  }
}

function checkAction(action: unknown, path: string, errors: string[]): void {
  if (!isObject(action)) {
    errors.push(`${path}: action must be an object`);
    return;
  }
  if (typeof action.type !== 'string' || !ACTION_TYPES.has(action.type)) {
    errors.push(`${path}.type: must be one of create|update|delete (got ${JSON.stringify(action.type)})`);
  }
  if (!isNonEmptyString(action.description)) errors.push(`${path}.description: required`);
  if (action.type === 'create' || action.type === 'update') {
    if (!isObject(action.resource) || !isNonEmptyString(action.resource.resourceType)) {
      errors.push(`${path}.resource: a ${action.type} action needs a FHIR resource with resourceType`);
    }
  }
  if (action.type === 'delete') {
    if (!isNonEmptyString(action.resourceId)) {
      errors.push(`${path}.resourceId: a delete action must name the resource (relative reference)`);
    }
    if (action.resource !== undefined) {
      errors.push(`${path}.resource: passing the resource to delete is deprecated; use resourceId`);
    }
  }
  if (action.resourceId !== undefined) {
    if (typeof action.resourceId !== 'string' || !RELATIVE_REFERENCE.test(action.resourceId)) {
      errors.push(`${path}.resourceId: must be a relative reference Type/id (got ${JSON.stringify(action.resourceId)})`);
    }
  }
}

function checkSuggestion(suggestion: unknown, path: string, errors: string[]): void {
  if (!isObject(suggestion)) {
    errors.push(`${path}: suggestion must be an object`);
    return;
  }
  if (!isNonEmptyString(suggestion.label)) errors.push(`${path}.label: required`);
  if (typeof suggestion.uuid !== 'string' || !UUID.test(suggestion.uuid)) {
    errors.push(`${path}.uuid: every suggestion must carry a uuid`);
  }
  if (suggestion.isRecommended !== undefined && typeof suggestion.isRecommended !== 'boolean') {
    errors.push(`${path}.isRecommended: must be a boolean`);
  }
  if (suggestion.actions !== undefined) {
    if (!Array.isArray(suggestion.actions)) errors.push(`${path}.actions: must be an array`);
    else suggestion.actions.forEach((a, i) => checkAction(a, `${path}.actions[${i}]`, errors));
  }
}

function checkLink(link: unknown, path: string, errors: string[]): void {
  if (!isObject(link)) {
    errors.push(`${path}: link must be an object`);
    return;
  }
  if (!isNonEmptyString(link.label)) errors.push(`${path}.label: required`);
  if (!isNonEmptyString(link.url)) errors.push(`${path}.url: required`);
  if (typeof link.type !== 'string' || !LINK_TYPES.has(link.type)) {
    errors.push(`${path}.type: must be absolute|smart (got ${JSON.stringify(link.type)})`);
  }
  if (link.type === 'absolute' && isNonEmptyString(link.url) && !isAbsoluteUrl(link.url)) {
    errors.push(`${path}.url: an absolute link needs an absolute http(s) URL (got ${JSON.stringify(link.url)})`);
  }
  if (link.appContext !== undefined && link.type !== 'smart') {
    errors.push(`${path}.appContext: only allowed on smart links`);
  }
  if (link.autolaunchable !== undefined && typeof link.autolaunchable !== 'boolean') {
    errors.push(`${path}.autolaunchable: must be a boolean`);
  }
}

function checkCard(card: unknown, path: string, errors: string[]): void {
  if (!isObject(card)) {
    errors.push(`${path}: card must be an object`);
    return;
  }
  if (typeof card.uuid !== 'string' || !UUID.test(card.uuid)) {
    errors.push(`${path}.uuid: every card must carry a uuid`);
  }
  if (!isNonEmptyString(card.summary)) errors.push(`${path}.summary: required`);
  else if (card.summary.length >= 140) {
    errors.push(`${path}.summary: must be under 140 characters (has ${card.summary.length})`);
  }
  if (card.detail !== undefined && typeof card.detail !== 'string') errors.push(`${path}.detail: must be a string`);
  if (typeof card.indicator !== 'string' || !INDICATORS.has(card.indicator)) {
    errors.push(`${path}.indicator: must be info|warning|critical (got ${JSON.stringify(card.indicator)})`);
  }

  const source = card.source;
  if (!isObject(source)) {
    errors.push(`${path}.source: required`);
  } else {
    if (!isNonEmptyString(source.label)) errors.push(`${path}.source.label: required`);
    if (source.url !== undefined && (typeof source.url !== 'string' || !isAbsoluteUrl(source.url))) {
      errors.push(`${path}.source.url: must be an absolute URL`);
    }
    if (source.topic !== undefined) checkCoding(source.topic, `${path}.source.topic`, errors, false);
  }

  if (card.suggestions !== undefined) {
    if (!Array.isArray(card.suggestions)) {
      errors.push(`${path}.suggestions: must be an array`);
    } else {
      card.suggestions.forEach((s, i) => checkSuggestion(s, `${path}.suggestions[${i}]`, errors));
      if (card.selectionBehavior === undefined) {
        errors.push(`${path}.selectionBehavior: required when suggestions are present`);
      }
      // cds-resp-1: more than one recommended suggestion only when any number may be chosen.
      const recommended = card.suggestions.filter((s) => isObject(s) && s.isRecommended === true).length;
      if (recommended > 1 && card.selectionBehavior !== 'any') {
        errors.push(`${path}: ${recommended} suggestions are isRecommended but selectionBehavior is not "any" (cds-resp-1)`);
      }
    }
  }
  if (card.selectionBehavior !== undefined) {
    if (typeof card.selectionBehavior !== 'string' || !SELECTION_BEHAVIORS.has(card.selectionBehavior)) {
      errors.push(`${path}.selectionBehavior: must be at-most-one|any (got ${JSON.stringify(card.selectionBehavior)})`);
    }
  }

  if (card.overrideReasons !== undefined) {
    if (!Array.isArray(card.overrideReasons)) errors.push(`${path}.overrideReasons: must be an array`);
    else card.overrideReasons.forEach((c, i) => checkCoding(c, `${path}.overrideReasons[${i}]`, errors, true));
  }

  if (card.links !== undefined) {
    if (!Array.isArray(card.links)) errors.push(`${path}.links: must be an array`);
    else card.links.forEach((l, i) => checkLink(l, `${path}.links[${i}]`, errors));
  }
}

/** Returns the checklist violations of a CDS Hooks response body; empty means conforming. */
export function checkCdsResponse(body: unknown): string[] {
  const errors: string[] = [];
  if (!isObject(body)) return ['$: response body must be a JSON object'];

  checkNoEmptyValues(body, '$', errors);

  if (!Array.isArray(body.cards)) {
    errors.push('$.cards: required array (may be empty)');
  } else {
    body.cards.forEach((card, i) => checkCard(card, `$.cards[${i}]`, errors));
  }
  if (body.systemActions !== undefined) {
    if (!Array.isArray(body.systemActions)) errors.push('$.systemActions: must be an array');
    else body.systemActions.forEach((a, i) => checkAction(a, `$.systemActions[${i}]`, errors));
  }
  return errors;
}
