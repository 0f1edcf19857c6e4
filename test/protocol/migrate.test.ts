import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/storage/migrations.js';
import { REPO_ROOT } from '../support/process.js';
import { startService } from '../support/service.js';

/** `npm run migrate`: the schema is applied before the service starts, and the start then has nothing to do. */

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spine-cds-migrate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run migrate', () => {
  it('creates and migrates a SQLite store, is idempotent, and the service starts on it', async () => {
    const file = join(dir, 'store.db');
    const env = { ...process.env, DATABASE_URL: `sqlite:${file}` };
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!;
    for (let i = 0; i < 2; i++) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], { cwd: REPO_ROOT, env, timeout: 60_000 });
      expect(stdout).toContain(`is at schema version ${latest.version}`);
    }
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      db.close();
    }
    const svc = await startService({ DATABASE_URL: `sqlite:${file}` });
    try {
      expect((await fetch(`${svc.baseUrl}/readyz`)).status).toBe(200);
    } finally {
      await svc.close();
    }
  });

  it('refuses in production without PATIENT_HASH_KEY, before creating anything', async () => {
    const file = join(dir, 'production.db');
    const failure = await run(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: `sqlite:${file}`, PATIENT_HASH_KEY: '' },
      timeout: 60_000,
    }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/^migrate: PATIENT_HASH_KEY is required when NODE_ENV=production/m);
    expect(existsSync(file)).toBe(false);
  });

  it('fails with a message and a non-zero exit for a DATABASE_URL it cannot use', async () => {
    const failure = await run(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: 'mysql://nope' },
      timeout: 60_000,
    }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/^migrate: DATABASE_URL must be sqlite:<path> or postgres:/m);
  });
});
