/**
 * FHIR date/dateTime/instant values as instants. A partial date ("2014", "2014-07") covers a span:
 * windows test the end of the span (so a red flag dated "this month" is never pushed out of a
 * 30-day window by a missing day), episode onsets use the start.
 */
export interface FhirInstant {
  /** The value as written, for evidence. */
  iso: string;
  start: number;
  end: number;
}

const FHIR_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export const DAY_MS = 86_400_000;

export function parseFhirDate(value: unknown): FhirInstant | undefined {
  if (typeof value !== 'string') return undefined;
  const m = FHIR_DATE.exec(value.trim());
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] === undefined ? undefined : Number(m[2]);
  const day = m[3] === undefined ? undefined : Number(m[3]);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > 31)) return undefined;
  if (m[4] !== undefined) {
    const t = Date.parse(m[8] === undefined ? `${value.trim()}Z` : value.trim());
    if (Number.isNaN(t)) return undefined;
    return { iso: value, start: t, end: t };
  }
  if (month === undefined) {
    return { iso: value, start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1) - 1 };
  }
  if (day === undefined) {
    return { iso: value, start: Date.UTC(year, month - 1, 1), end: Date.UTC(year, month, 1) - 1 };
  }
  const start = Date.UTC(year, month - 1, day);
  // Reject 2014-02-31 and the like rather than letting Date roll it over.
  if (new Date(start).getUTCDate() !== day) return undefined;
  return { iso: value, start, end: start + DAY_MS - 1 };
}

/** Whole years completed between a birth span and `now`, as a range when the birth date is partial. */
export function completedYears(birth: FhirInstant, now: number): { min: number; max: number } {
  return { min: yearsBetween(birth.end, now), max: yearsBetween(birth.start, now) };
}

function yearsBetween(from: number, to: number): number {
  const a = new Date(from);
  const b = new Date(to);
  let years = b.getUTCFullYear() - a.getUTCFullYear();
  const beforeBirthday =
    b.getUTCMonth() < a.getUTCMonth() || (b.getUTCMonth() === a.getUTCMonth() && b.getUTCDate() < a.getUTCDate());
  if (beforeBirthday) years -= 1;
  return years;
}
