import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../paths.js';

/**
 * Runs the CDS service (src/main.ts) as a child process the way the sandbox and the e2e test need
 * it: development mode, no JWT check, the given FHIR server origin on the allowlist. Resolves once
 * GET /readyz answers 200. Port 0 means a free port picked here, so that nothing depends on the
 * service's log format or level.
 */

export interface CdsServiceOptions {
  /** FHIR server origins the service may call (FHIR_SERVER_ALLOWLIST). */
  fhirOrigins: string[];
  port?: number;
  host?: string;
  /** Extra environment, e.g. DATABASE_URL for a throw-away store. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Each log line of the service (pino JSON), for whoever wants to show them. */
  onLog?: (line: string) => void;
}

export interface RunningCdsService {
  baseUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code when the service exits for any reason. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function startCdsService(opts: CdsServiceOptions): Promise<RunningCdsService> {
  const host = opts.host ?? '127.0.0.1';
  // A busy port would let another process answer /readyz for ours: refuse it up front.
  const port = await freePort(host, opts.port ?? 0).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot use port ${opts.port} on ${host} for the CDS service: ${err.code ?? err.message}`);
  });
  const baseUrl = `http://${host}:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: host,
    NODE_ENV: 'development',
    CDS_AUTH: 'off',
    FHIR_SERVER_ALLOWLIST: opts.fhirOrigins.join(','),
    ...opts.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // A parent that dies without calling stop() must not leave the service behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );
  let output = '';
  const remember = (line: string): void => {
    if (output.length < 20_000) output += `${line}\n`;
    opts.onLog?.(line);
  };
  createInterface({ input: child.stderr }).on('line', remember);
  createInterface({ input: child.stdout }).on('line', remember);

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 12_000);
    await exited;
    clearTimeout(killer);
  };

  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const failed = (why: string) => new Error(`CDS service on ${baseUrl} ${why}. Its output:\n${output.slice(-6000)}`);
  while (true) {
    if (child.exitCode !== null) throw failed(`exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
    } catch {
      // not accepting connections yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw failed(`was not ready within ${timeoutMs} ms`);
    }
    await sleep(200);
  }
  return { baseUrl, child, exited, stop };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `wanted` if nobody listens on it right now, or a free one picked by the OS when `wanted` is 0. */
function freePort(host: string, wanted: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(wanted, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
