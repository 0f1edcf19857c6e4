import { SPINE_CDS } from '../hooks/index.js';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { SERVICE_VERSION } from './config/version.js';

/**
 * Process entry: configuration → app → listen → load clinical knowledge (ready) → graceful stop.
 * It is the composition root, and so the one module of src/ that imports hooks/: it plugs this
 * repository's clinical content (the spine services and rules) into the engine.
 * It listens before loading so /healthz answers and /readyz can say "not yet".
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, SPINE_CDS);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`spine-cds: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  // Loaded after the configuration is valid: a configuration error is reported without first loading
  // the whole HTTP stack, which keeps that exit fast.
  const { buildApp } = await import('./http/app.js');
  const { app, knowledge } = await buildApp({ config, content: SPINE_CDS });
  for (const warning of config.warnings) app.log.warn(`WARNING: ${warning}`);

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new requests, finishing in-flight ones');
    const timer = setTimeout(() => {
      app.log.error('shutdown grace period expired; exiting with requests still in flight');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    // Keep-alive sockets of answered calls would hold close() open until they time out.
    const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
    reaper.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  try {
    await knowledge.load();
  } catch (err) {
    // A broken mapping file must stop startup: the message names file, field and reason.
    app.log.fatal({ err: { message: (err as Error).message } }, 'clinical mappings failed to load');
    process.stderr.write(`spine-cds: ${(err as Error).message}\n`);
    await app.close();
    process.exit(3);
  }
  app.log.info({ version: SERVICE_VERSION, node: process.version, port: config.port, host: config.host }, `spine-cds ${SERVICE_VERSION} ready`);
}

main().catch((err: unknown) => {
  process.stderr.write(`spine-cds: failed to start: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
