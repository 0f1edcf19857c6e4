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

export const DAY_MS = 86_400_000;

/**
 * Reads date, dateTime and instant as FHIR writes them (YYYY, YYYY-MM, YYYY-MM-DD,
 * YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm]); anything else is undefined. A time without a zone is read as
 * UTC. Hand-rolled rather than a regular expression because it runs once per candidate resource.
 */
export function parseFhirDate(value: unknown): FhirInstant | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.length > 0 && (value.charCodeAt(0) <= 32 || value.charCodeAt(value.length - 1) <= 32) ? value.trim() : value;
  const len = s.length;
  if (len < 4) return undefined;
  const year = digits(s, 0, 4);
  if (year < 0) return undefined;
  if (len === 4) return { iso: value, start: utcDay(year, 1, 1), end: utcDay(year + 1, 1, 1) - 1 };
  if (s.charCodeAt(4) !== 45 /* - */ || len < 7) return undefined;
  const month = digits(s, 5, 2);
  if (month < 1 || month > 12) return undefined;
  if (len === 7) return { iso: value, start: utcDay(year, month, 1), end: (month === 12 ? utcDay(year + 1, 1, 1) : utcDay(year, month + 1, 1)) - 1 };
  if (s.charCodeAt(7) !== 45 || len < 10) return undefined;
  const day = digits(s, 8, 2);
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  const dayStart = utcDay(year, month, day);
  if (len === 10) return { iso: value, start: dayStart, end: dayStart + DAY_MS - 1 };
  if (s.charCodeAt(10) !== 84 /* T */ || len < 16 || s.charCodeAt(13) !== 58 /* : */) return undefined;
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  let i = 16;
  let second = 0;
  let millis = 0;
  if (i < len && s.charCodeAt(i) === 58) {
    second = digits(s, i + 1, 2);
    if (second < 0 || second > 60) return undefined;
    i += 3;
    if (i < len && s.charCodeAt(i) === 46 /* . */) {
      const from = ++i;
      while (i < len && isDigit(s.charCodeAt(i))) i++;
      if (i === from) return undefined;
      millis = Math.floor(Number(`0.${s.slice(from, i)}`) * 1000);
    }
  }
  let offset = 0;
  if (i < len) {
    const c = s.charCodeAt(i);
    if (c === 90 /* Z */ && i === len - 1) offset = 0;
    else if ((c === 43 || c === 45) && i + 6 === len && s.charCodeAt(i + 3) === 58) {
      const oh = digits(s, i + 1, 2);
      const om = digits(s, i + 4, 2);
      if (oh < 0 || oh > 14 || om < 0 || om > 59) return undefined;
      offset = (c === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
    } else return undefined;
  }
  const t = dayStart + ((hour * 60 + minute) * 60 + second) * 1000 + millis - offset;
  return { iso: value, start: t, end: t };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The number in s[from, from+count) when all are digits, else -1. */
function digits(s: string, from: number, count: number): number {
  if (from + count > s.length) return -1;
  let n = 0;
  for (let k = from; k < from + count; k++) {
    const c = s.charCodeAt(k);
    if (!isDigit(c)) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return MONTH_DAYS[month - 1] as number;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/**
 * Date.UTC(year, month - 1, day) by arithmetic (days from civil, proleptic Gregorian), for years
 * 0-9999: parsing runs once per candidate resource and Date.UTC is several times slower.
 */
function utcDay(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return (era * 146_097 + doe - 719_468) * DAY_MS;
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
