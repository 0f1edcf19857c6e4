import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * A real, throwaway PostgreSQL for tests: initdb into a temp dir, pg_ctl start on a free loopback
 * port, pg_ctl stop and delete afterwards. With TEST_DATABASE_URL set, an existing server is used
 * instead (a fresh database is created in it and dropped afterwards).
 *
 * No PostgreSQL binaries: a local run skips the PostgreSQL tests and says so; with CI=true it fails,
 * because CI must never pass without having run them (.ci/run installs the Debian packages).
 */
const run = promisify(execFile);

export interface PostgresServer {
  /** postgres:// URL of an empty database. */
  url: string;
  stop(): Promise<void>;
}

export type PostgresAvailability = { available: true; binDir: string | null } | { available: false; reason: string };

let cached: PostgresAvailability | undefined;

/** Synchronous so a test file can decide `describe.skipIf(...)` at collection time. */
export function postgresAvailability(): PostgresAvailability {
  if (cached) return cached;
  if (process.env.TEST_DATABASE_URL) return (cached = { available: true, binDir: null });
  const binDir = findBinDir();
  if (binDir) return (cached = { available: true, binDir });
  const reason =
    'PostgreSQL binaries (initdb, pg_ctl) not found in $PG_BIN, /usr/lib/postgresql/*/bin or PATH, and TEST_DATABASE_URL is not set';
  if (process.env.CI === 'true') {
    throw new Error(`CI=true: the PostgreSQL tests must run, but ${reason}. Install the postgresql package (apt-get install -y postgresql).`);
  }
  console.warn(`\n*** SKIPPED PostgreSQL tests: ${reason}. Install PostgreSQL or set TEST_DATABASE_URL to run them. ***\n`);
  return (cached = { available: false, reason });
}

export async function startPostgres(): Promise<PostgresServer> {
  const availability = postgresAvailability();
  if (!availability.available) throw new Error(`PostgreSQL unavailable: ${availability.reason}`);
  if (availability.binDir === null) return freshDatabase(process.env.TEST_DATABASE_URL!);
  return startThrowaway(availability.binDir);
}

function findBinDir(): string | null {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  if (process.env.PG_BIN && has(process.env.PG_BIN)) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (has(join(root, v, 'bin'))) return join(root, v, 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const initdb = found.status === 0 ? found.stdout.trim() : '';
  if (initdb) {
    const dir = initdb.slice(0, initdb.lastIndexOf('/'));
    if (has(dir)) return dir;
  }
  return null;
}

/** initdb refuses to run as root: as root, the server runs as the `postgres` user the Debian package creates. */
function asServerUser(): { wrap: (cmd: string, args: string[]) => [string, string[]]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args] };
  const user = process.env.PG_TEST_USER ?? 'postgres';
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error(`Running as root, PostgreSQL needs a non-root user to run as: user "${user}" does not exist (set PG_TEST_USER)`);
  }
  return { wrap: (cmd, args) => ['runuser', ['-u', user, '--', cmd, ...args]], uid, gid };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startThrowaway(binDir: string): Promise<PostgresServer> {
  const user = asServerUser();
  const dir = mkdtempSync(join(tmpdir(), 'spine-pg-'));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const exec = (cmd: string, args: string[]) => {
    const [c, a] = user.wrap(join(binDir, cmd), args);
    return run(c, a, { encoding: 'utf8' });
  };
  const cleanup = (): void => {
    spawnSync(...user.wrap(join(binDir, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-s']));
    rmSync(dir, { recursive: true, force: true });
  };
  // A test runner that exits leaves no server behind; one killed outright (SIGKILL, a timeout) runs
  // no exit handler, so a detached watchdog stops the server once this process is gone.
  process.once('exit', cleanup);
  const [stopCmd, stopArgs] = user.wrap(join(binDir, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-s']);
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; if [ -d ${quote(data)} ]; then ${[stopCmd, ...stopArgs].map(quote).join(' ')} >/dev/null 2>&1; rm -rf ${quote(dir)}; fi`],
    { detached: true, stdio: 'ignore' },
  ).unref();
  try {
    // --no-sync: the cluster is thrown away; only initdb's own fsyncs are skipped, the server keeps fsync on.
    await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        await exec('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', log, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`]);
        const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
        return {
          url,
          stop: async () => {
            process.removeListener('exit', cleanup);
            cleanup();
          },
        };
      } catch (err) {
        // Most likely the port was taken between choosing and binding it: try another.
        lastError = err;
      }
    }
    throw lastError;
  } catch (err) {
    const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    process.removeListener('exit', cleanup);
    cleanup();
    throw new Error(`Could not start a throwaway PostgreSQL from ${binDir}: ${(err as Error).message}\n${serverLog}`, { cause: err });
  }
}

async function freshDatabase(adminUrl: string): Promise<PostgresServer> {
  const name = `spine_cds_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    stop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
