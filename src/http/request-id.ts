import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Correlation with the caller: an EHR or gateway that sends `X-Request-Id` finds the same id in our
 * log and on the response; a W3C `traceparent` is logged so the call joins the caller's trace.
 * Both are the caller's text: only well-formed, bounded values are used, anything else is replaced
 * (request id) or dropped (traceparent), so a header can neither forge log fields nor bloat them.
 */

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
// W3C Trace Context §3.2: version-traceid-parentid-flags, lowercase hex; all-zero ids are invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export const REQUEST_ID_HEADER = 'x-request-id';

/** Fastify's genReqId: the caller's X-Request-Id when well-formed, else a fresh UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The traceparent header when it is a valid W3C trace context, else undefined. */
export function traceparentOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, parentId, , rest] = m;
  if (version === 'ff' || /^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return undefined;
  // Version 00 has exactly four fields; later versions may append more, which we do not log.
  if (version === '00' && rest !== undefined) return undefined;
  return `${version}-${traceId}-${parentId}-${m[4]}`;
}
