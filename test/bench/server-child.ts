/**
 * One benchmark target in its own process, so the load generator does not share its event loop:
 *   service  — the real spine-cds app as deployed (the compiled build in dist/, as `npm start` and
 *              the container run it): rules, findings, logging, card storage on SQLite;
 *   stack    — the same app, but the clinical knowledge answers every call with the findings and
 *              response it computed for the first one: HTTP, security, validation, data resolution,
 *              logging, card storage and serialisation without the findings, rules and cards;
 *   baseline — bare Fastify with the same body parsing and a canned response of the same size.
 * Reports `{ port }` over IPC when listening.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import type * as AppModule from '../../src/http/app.js';
import type { CdsResponse } from '../../src/cards/types.js';
import type * as ConfigModule from '../../src/config/config.js';
import type { FindingsResult } from '../../src/findings/types.js';
import type * as JsonBodyModule from '../../src/http/json-body.js';
import type * as KnowledgeModule from '../../src/knowledge/knowledge.js';
import type { Knowledge } from '../../src/knowledge/knowledge.js';
import type * as HooksModule from '../../hooks/index.js';

type Mode = 'service' | 'stack' | 'baseline';
/** baseline: the canned response; service and stack: the SQLite file for issued cards (the benchmark removes it). */
const [mode, arg = ''] = process.argv.slice(2) as [Mode, string?];
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src');

async function main(): Promise<void> {
  // The compiled build, not this checkout's TypeScript through tsx: what is measured is what runs.
  const [{ buildApp }, { loadConfig }, { installJsonBodyParser }, { KnowledgeHolder, defaultMappingsDir, loadKnowledge }, { SPINE_CDS }] = (await Promise.all([
    import(path.join(dist, 'http/app.js')),
    import(path.join(dist, 'config/config.js')),
    import(path.join(dist, 'http/json-body.js')),
    import(path.join(dist, 'knowledge/knowledge.js')),
    // The rules too: the clinical content the build plugs in, compiled.
    import(path.join(dist, '../hooks/index.js')),
  ])) as [typeof AppModule, typeof ConfigModule, typeof JsonBodyModule, typeof KnowledgeModule, typeof HooksModule];

  if (mode === 'baseline') {
    const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
    installJsonBodyParser(app, 64);
    app.post('/cds-services/:id', async (_req, reply) => reply.type('application/json').send(arg));
    await app.listen({ port: 0, host: '127.0.0.1' });
    report(app.server.address());
    return;
  }
  const config = loadConfig({
    NODE_ENV: 'development',
    CDS_AUTH: 'off',
    LOG_LEVEL: 'info',
    BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
    // The benchmark measures throughput, not the limiter.
    RATE_LIMIT_MAX: '1000000000',
    DATABASE_URL: `sqlite:${arg}`,
  }, SPINE_CDS);
  const knowledge =
    mode === 'stack'
      ? new KnowledgeHolder(async () => answersOnce(await loadKnowledge(defaultMappingsDir(), SPINE_CDS, config.rules)))
      : undefined;
  const built = await buildApp({ content: SPINE_CDS, config, logStream: nonOkLines as never, ...(knowledge ? { knowledge } : {}) });
  await built.knowledge.load();
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  report(built.app.server.address());
}

/**
 * The real knowledge for the first call; its findings and response again for every later one, with
 * fresh card and suggestion uuids as the renderer gives them. With the first call's uuids every later
 * card record hit `ON CONFLICT DO NOTHING`: the stack skipped the inserts the service makes, and their
 * cost was counted as the clinical part's.
 */
function answersOnce(real: Knowledge): Knowledge {
  let findings: FindingsResult | undefined;
  let response: CdsResponse | undefined;
  return {
    mappings: real.mappings,
    evaluate: (record, now) => (findings ??= real.evaluate(record, now)),
    advisor: {
      advise: (input) => {
        response ??= real.advisor.advise(input);
        return {
          ...response,
          cards: response.cards.map((card) => ({
            ...card,
            uuid: randomUUID(),
            ...(card.suggestions ? { suggestions: card.suggestions.map((s) => ({ ...s, uuid: randomUUID() })) } : {}),
          })),
        };
      },
    },
  };
}

/**
 * The log is dropped, except the summary line of an answer that was not 200: a non-2xx answer must be
 * explained before any figure is trusted, and its line says why (status, stage, reason).
 */
const nonOkLines = {
  write(line: string): boolean {
    if ((line.includes('"status":') && !line.includes('"status":200')) || line.includes('"shed"')) process.stderr.write(`[${mode}] ${line}`);
    return true;
  },
};

function report(address: unknown): void {
  const port = typeof address === 'object' && address !== null ? (address as { port: number }).port : 0;
  process.send?.({ port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
