import type { FastifyInstance } from 'fastify';
import type { KnowledgeHolder } from '../knowledge.js';
import { SERVICE_VERSION } from '../version.js';

export interface HealthOptions {
  knowledge: KnowledgeHolder;
  /** Further readiness checks (e.g. the feedback store). */
  checks?: Array<() => { ok: boolean; name: string }>;
}

/** Liveness says the process serves HTTP; readiness says it can give clinical answers. */
export async function healthRoutes(app: FastifyInstance, opts: HealthOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok', version: SERVICE_VERSION }));
  app.get('/readyz', async (_request, reply) => {
    const results = [{ name: 'mappings', ok: opts.knowledge.current !== undefined }, ...(opts.checks ?? []).map((c) => c())];
    const ready = results.every((r) => r.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks: Object.fromEntries(results.map((r) => [r.name, r.ok])) });
  });
}
