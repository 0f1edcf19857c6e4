import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../paths.js';

export interface SpawnedFhirServer {
  baseUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface SpawnFhirServerOptions {
  port?: number;
  host?: string;
  requireToken?: string;
  pageSize?: number;
  /** How long to wait for the ready line; the first start also loads the FHIR definitions. */
  readyTimeoutMs?: number;
  /** Pass --log to the server and forward its stderr here. */
  onStderr?: (chunk: string) => void;
}

/** Node flags for anything that imports @medplum/core: Node 20 has no global WebSocket without one. */
export function medplumNodeFlags(): string[] {
  const major = Number(process.versions.node.split('.')[0]);
  return major < 22 ? ['--experimental-websocket', '--import', 'tsx'] : ['--import', 'tsx'];
}

/**
 * Starts kit/fhir-server/main.ts as a child process and resolves once it prints its ready line.
 * A child that exits or stays silent past the timeout rejects with its stderr in the message.
 */
export function spawnFhirServer(options: SpawnFhirServerOptions = {}): Promise<SpawnedFhirServer> {
  const args = [
    ...medplumNodeFlags(),
    path.join(REPO_ROOT, 'kit/fhir-server/main.ts'),
    '--port',
    String(options.port ?? 0),
    '--host',
    options.host ?? '127.0.0.1',
  ];
  if (options.requireToken !== undefined) args.push('--require-token', options.requireToken);
  if (options.pageSize !== undefined) args.push('--page-size', String(options.pageSize));
  if (options.onStderr) args.push('--log');

  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 20_000) stderr += chunk;
    options.onStderr?.(chunk);
  });

  // A test runner that dies without calling stop() must not leave the server behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', killOnExit);
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
  };

  return new Promise((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    let stdout = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`FHIR server did not report ready within ${timeoutMs} ms. stderr:\n${stderr}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        const { fhirBaseUrl } = JSON.parse(stdout.slice(0, newline)) as { fhirBaseUrl: string };
        resolve({ baseUrl: fhirBaseUrl, child, stop });
      } catch {
        void stop();
        reject(new Error(`FHIR server printed an unexpected ready line: ${stdout.slice(0, newline)}\nstderr:\n${stderr}`));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`FHIR server exited before ready (code ${code}, signal ${signal}). stderr:\n${stderr}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start FHIR server: ${err.message}`));
    });
  });
}
