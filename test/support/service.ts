import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { CardSink } from '../../src/storage/card-sink.js';
import type { KnowledgeHolder } from '../../src/knowledge/knowledge.js';
import { SPINE_CDS } from '../../hooks/index.js';

export interface RunningService {
  baseUrl: string;
  app: FastifyInstance;
  /** Every JSON log line written so far, raw. */
  logLines(): string[];
  close(): Promise<void>;
}

/**
 * Starts the real service on 127.0.0.1 (random port) with test defaults, loads the shipped mappings,
 * and captures its logs. Callers talk to it over real HTTP.
 */
export async function startService(
  env: Record<string, string> = {},
  extra: { cardSink?: CardSink; now?: () => Date; knowledge?: KnowledgeHolder } = {},
): Promise<RunningService> {
  // An in-memory store unless the test names one: tests never write into the repository's ./data.
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', CDS_AUTH: 'off', PORT: '0', DATABASE_URL: 'sqlite::memory:', ...env }, SPINE_CDS);
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const { app, knowledge } = await buildApp({ content: SPINE_CDS, config, logStream, ...extra });
  await knowledge.load();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    app,
    logLines: () => [...lines],
    close: () => app.close(),
  };
}
