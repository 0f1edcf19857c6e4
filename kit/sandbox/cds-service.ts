import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../paths.js';

/**
 * Runs the CDS service (src/main.ts) as a child process the way the sandbox and the e2e test need
 * it: development mode, no JWT check, the given FHIR server origin on the allowlist. Resolves once
 * GET /readyz answers 200. With port 0 the real port is read from Fastify's "Server listening at"
 * log line (src/main.ts logs JSON with pino).
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
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(opts.port ?? 0),
    HOST: host,
    NODE_ENV: 'development',
    CDS_AUTH: 'off',
    FHIR_SERVER_ALLOWLIST: opts.fhirOrigins.join(','),
    ...opts.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const remember = (line: string): void => {
    if (output.length < 20_000) output += `${line}\n`;
    opts.onLog?.(line);
  };
  createInterface({ input: child.stderr }).on('line', remember);

  const listening = new Promise<string>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line);
      const match = /Server listening at (http:\/\/[^\s"]+)/.exec(line);
      // Fastify logs one line per address; prefer the host that was asked for.
      if (match?.[1] && (match[1].includes(host) || host === '0.0.0.0')) resolve(match[1]);
    });
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 12_000);
    await exited;
    clearTimeout(killer);
  };

  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const failed = (why: string) => new Error(`CDS service ${why}. Its output:\n${output.slice(-6000)}`);
  const baseUrl = await Promise.race([
    listening,
    exited.then((code) => Promise.reject(failed(`exited with code ${code} before listening`))),
    sleep(timeoutMs).then(() => Promise.reject(failed(`did not listen within ${timeoutMs} ms`))),
  ]).catch(async (err: unknown) => {
    await stop();
    throw err;
  });

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
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
