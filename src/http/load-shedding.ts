import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { getHeapStatistics } from 'node:v8';
import type { Config } from '../config/config.js';
import { simpleOutcome } from './problem.js';

/** Serialised once: under overload every shed call sends these same bytes. */
const SHED_BODY = JSON.stringify(simpleOutcome(503, 'Service under load; retry later'));

const PROBES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

const shedRequests = new WeakSet<FastifyRequest>();

/** Whether this request was answered 503 by load shedding (its summary line is left out: see app.ts). */
export function wasShed(request: FastifyRequest): boolean {
  return shedRequests.has(request);
}

function isProbe(request: FastifyRequest): boolean {
  const q = request.url.indexOf('?');
  return PROBES.has(q === -1 ? request.url : request.url.slice(0, q));
}

/**
 * Overload answers 503 + Retry-After at once, before authentication or body parsing cost anything,
 * and never for the probes (an orchestrator must not restart a pod that is only busy). Triggers:
 * - calls in flight past maxInFlight (on by default): the first and cheapest check, a counter
 *   compared in the first onRequest hook. It acts on the very first burst, before any delay could
 *   be measured, and keeps the calls that are kept fast: they share the loop with at most
 *   maxInFlight - 1 others instead of with every caller at once. It also bounds the memory calls in
 *   flight hold;
 * - event-loop delay or heap past their limits (@fastify/under-pressure): sustained overload that
 *   the bound alone does not catch (a slow machine, a neighbour on the same cores, big records).
 */
export async function registerLoadShedding(app: FastifyInstance, config: Config): Promise<void> {
  const { maxEventLoopDelayMs, maxHeapUsedBytes, retryAfterSeconds, maxInFlight } = config.loadShedding;
  // One log line per second at most: under overload, a line per shed call would add to the load.
  let shedSinceLog = 0;
  const retryAfter = String(retryAfterSeconds);
  let lastLog = 0;
  const shed = (request: FastifyRequest, reply: FastifyReply, pressure: string, value: unknown): void => {
    shedRequests.add(request);
    shedSinceLog++;
    const now = Date.now();
    if (now - lastLog >= 1000) {
      request.log.warn({ pressure, value, shed: shedSinceLog }, 'load shed: answering 503');
      shedSinceLog = 0;
      lastLog = now;
    }
    void reply.code(503).header('retry-after', retryAfter).type('application/json').send(SHED_BODY);
  };

  if (maxInFlight > 0) {
    let inFlight = 0;
    app.addHook('onRequest', async (request, reply) => {
      if (isProbe(request) || request.method !== 'POST') return;
      if (inFlight >= maxInFlight) return shed(request, reply, 'inFlight', inFlight);
      inFlight++;
      // The response's 'close' comes once, whether it finished or its connection went first. Fastify's
      // onResponse and onRequestAbort both miss a caller that hangs up after sending its whole body
      // while the call is still working: each such call would keep its slot for good, and after
      // maxInFlight of them every call would be shed.
      reply.raw.once('close', () => inFlight--);
    });
  }

  // Default heap limit: 85% of V8's, so the process sheds before it dies of an out-of-memory error.
  const heapLimit = maxHeapUsedBytes ?? Math.floor(getHeapStatistics().heap_size_limit * 0.85);
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes: heapLimit,
    retryAfter: retryAfterSeconds,
    sampleInterval: 100,
    pressureHandler: (request, reply, type, value) => {
      if (isProbe(request)) return;
      shed(request, reply, type, value);
    },
  });
}
