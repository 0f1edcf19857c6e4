import type { FastifyInstance } from 'fastify';
import type { KnowledgeHolder } from '../knowledge/knowledge.js';
import { SERVICE_VERSION } from '../config/version.js';

export interface HealthCheck {
  name: string;
  ok: boolean;
}

export interface HealthOptions {
  knowledge: KnowledgeHolder;
  /** Further readiness checks (e.g. the feedback store); may be asynchronous. */
  checks?: Array<() => HealthCheck | Promise<HealthCheck>>;
}

/** Liveness says the process serves HTTP; readiness says it can give clinical answers. */
export async function healthRoutes(app: FastifyInstance, opts: HealthOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok', version: SERVICE_VERSION }));
  app.get('/readyz', async (_request, reply) => {
    const results = [{ name: 'mappings', ok: opts.knowledge.current !== undefined }, ...(await Promise.all((opts.checks ?? []).map((c) => c())))];
    const ready = results.every((r) => r.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks: Object.fromEntries(results.map((r) => [r.name, r.ok])) });
  });
}

/**
 * Readiness of the store, for real: a cheap query, its answer cached for `cacheMs` so probes from an
 * orchestrator (or an attacker) cost one round trip per interval at most, and bounded by `timeoutMs`
 * so a hung database makes /readyz say "not ready" instead of hanging it.
 */
export function storeProbe(
  store: { ready(): boolean; ping(): Promise<void> },
  opts: { cacheMs?: number; timeoutMs?: number; now?: () => number } = {},
): () => Promise<HealthCheck> {
  const cacheMs = opts.cacheMs ?? 1_500;
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const now = opts.now ?? Date.now;
  let last: { at: number; ok: boolean } | undefined;
  let inFlight: Promise<boolean> | undefined;
  const probe = async (): Promise<boolean> => {
    if (!store.ready()) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('store ping timed out')), timeoutMs);
      });
      await Promise.race([store.ping(), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  return async () => {
    if (last && now() - last.at < cacheMs) return { name: 'store', ok: last.ok };
    // Concurrent probes share one query.
    inFlight ??= probe().then((ok) => {
      last = { at: now(), ok };
      inFlight = undefined;
      return ok;
    });
    return { name: 'store', ok: await inFlight };
  };
}
