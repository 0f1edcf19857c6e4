/**
 * One benchmark target in its own process, so the load generator does not share its event loop:
 *   service  — the real spine-cds app (rules, findings, logging, card storage on SQLite);
 *   baseline — bare Fastify with the same body parsing and a canned response of the same size.
 * Reports `{ port }` over IPC when listening.
 */
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { installJsonBodyParser } from '../../src/http/json-body.js';

const [mode, cannedResponse = '{"cards":[]}'] = process.argv.slice(2);

async function main(): Promise<void> {
  if (mode === 'baseline') {
    const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
    installJsonBodyParser(app, 64);
    app.post('/cds-services/:id', async (_req, reply) => reply.type('application/json').send(cannedResponse));
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
    DATABASE_URL: `sqlite:${path.join(os.tmpdir(), `spine-cds-bench-${process.pid}.db`)}`,
  });
  const { app, knowledge } = await buildApp({ config, logStream: { write: () => true } as never });
  await knowledge.load();
  await app.listen({ port: 0, host: '127.0.0.1' });
  report(app.server.address());
}

function report(address: unknown): void {
  const port = typeof address === 'object' && address !== null ? (address as { port: number }).port : 0;
  process.send?.({ port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
