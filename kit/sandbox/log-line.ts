/**
 * How the sandbox shows the CDS service's pino JSON log: warnings and errors always, everything with
 * --verbose. A request's summary line reads as a newcomer needs it: method, route, status, service,
 * hook, card count, duration, and which prefetch keys had to be fetched or were unavailable.
 */
interface LogEntry {
  level?: number;
  msg?: string;
  method?: string;
  path?: string;
  status?: number;
  /** The CDS service id (`service` is the application's name, "spine-cds", on every line). */
  serviceId?: string;
  hook?: string;
  cards?: number;
  durationMs?: number;
  fetched?: string[];
  unavailable?: string[];
  feedback?: { stored?: number; duplicates?: number; unknownCards?: number };
}

const WARN = 40;

export function formatServiceLog(line: string, verbose: boolean): string | undefined {
  let entry: LogEntry | undefined;
  try {
    entry = JSON.parse(line) as LogEntry;
  } catch {
    return `[cds] ${line}`;
  }
  if (!verbose && (entry.level ?? 0) < WARN) return undefined;
  if (entry.msg !== 'request completed') return `[cds] ${entry.msg ?? line}`;
  const parts = [`${entry.method ?? '?'} ${entry.path ?? '?'}`, String(entry.status ?? '?')];
  if (entry.serviceId) parts.push(entry.serviceId);
  if (entry.hook) parts.push(entry.hook);
  if (entry.cards !== undefined) parts.push(`${entry.cards} card${entry.cards === 1 ? '' : 's'}`);
  if (entry.feedback) parts.push(`feedback stored ${entry.feedback.stored ?? 0}, duplicates ${entry.feedback.duplicates ?? 0}`);
  if (entry.fetched && entry.fetched.length > 0) parts.push(`fetched ${entry.fetched.join(',')}`);
  if (entry.unavailable && entry.unavailable.length > 0) parts.push(`UNAVAILABLE ${entry.unavailable.join(',')}`);
  if (entry.durationMs !== undefined) parts.push(`${entry.durationMs} ms`);
  return `[cds] ${parts.join('  ')}`;
}
