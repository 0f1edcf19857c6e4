import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { loadConfig } from '../../src/config/config.js';
import { REPO_ROOT, startServiceProcess } from '../support/process.js';
import { makeKey, writeIssuersFile } from './support.js';
import { SPINE_CDS } from '../../hooks/index.js';

/** What the service does at startup with each security setting: refuse clearly, or warn loudly. */

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function issuersFile(content: unknown): Promise<string> {
  const { file, cleanup } = await writeIssuersFile(content);
  cleanups.push(cleanup);
  return file;
}

const production = (extra: Record<string, string>) =>
  loadConfig({ NODE_ENV: 'production', FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org', DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', PATIENT_HASH_KEY: 'k'.repeat(32), ...extra }, SPINE_CDS);

/**
 * Runs src/main.ts until it exits (it must refuse to start); returns exit code and output. A service
 * that starts instead is stopped after 20 s (code null), so a failing test leaves no process behind.
 */
function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/main.ts')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    });
  });
}

describe('startup with CDS_AUTH', () => {
  it('production defaults to required and refuses to start without issuers, saying so', async () => {
    const { code, output } = await runMain({ NODE_ENV: 'production', FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org', DATABASE_URL: 'sqlite::memory:' });
    expect(code).not.toBe(0);
    expect(output).toMatch(/CDS_AUTH=required but CDS_ISSUERS is not set/);
  });

  it('refuses an issuers file that lists nobody', async () => {
    const file = await issuersFile([]);
    await expect(buildApp({ content: SPINE_CDS, config: production({ CDS_ISSUERS: file, PUBLIC_BASE_URL: 'https://cds.example.org' }) })).rejects.toThrow(
      new RegExp(`CDS_ISSUERS file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: lists no issuers`),
    );
  });

  it('refuses a missing or broken issuers file, naming the file', async () => {
    await expect(buildApp({ content: SPINE_CDS, config: production({ CDS_ISSUERS: '/nonexistent/trust.json', PUBLIC_BASE_URL: 'https://cds.example.org' }) })).rejects.toThrow(
      'CDS_ISSUERS file /nonexistent/trust.json: file not found',
    );
    const broken = await issuersFile([{ iss: 'https://ehr.example', jwks_url: 'http://ehr.example/jwks' }]);
    await expect(buildApp({ content: SPINE_CDS, config: production({ CDS_ISSUERS: broken, PUBLIC_BASE_URL: 'https://cds.example.org' }) })).rejects.toThrow(
      /jwks_url: must be https in production/,
    );
  });

  it('requires PUBLIC_BASE_URL when verifying, since the expected aud is built from it', async () => {
    const key = await makeKey('ES384');
    const file = await issuersFile([{ iss: 'https://ehr.example', jwks: { keys: [key.publicJwk] } }]);
    // Caught by the configuration itself, so the process exits like any other configuration error.
    expect(() => production({ CDS_ISSUERS: file })).toThrow(/PUBLIC_BASE_URL/);
  });

  it('production refuses to start without PATIENT_HASH_KEY: one line naming it and how to make one, no stack trace', { timeout: 60_000 }, async () => {
    const key = await makeKey('ES384');
    const file = await issuersFile([{ iss: 'https://ehr.example', jwks: { keys: [key.publicJwk] } }]);
    const env = { NODE_ENV: 'production', CDS_ISSUERS: file, PUBLIC_BASE_URL: 'https://cds.example.org', FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org', DATABASE_URL: 'sqlite::memory:' };
    for (const blankOrUnset of [{}, { PATIENT_HASH_KEY: '' }] as Array<Record<string, string>>) {
      const { code, output } = await runMain({ ...env, ...blankOrUnset });
      expect(code).toBe(2);
      const lines = output.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^spine-cds: PATIENT_HASH_KEY is required when NODE_ENV=production: .*openssl rand -base64 32/);
    }
  });

  it('development defaults to off and warns loudly at startup', async () => {
    expect(loadConfig({ NODE_ENV: 'development' }, SPINE_CDS).auth).toBe('off');
    const db = path.join(os.tmpdir(), `spine-cds-sec-${process.pid}-${Date.now()}.db`);
    cleanups.push(() => rm(db, { force: true }).then(() => Promise.all([rm(`${db}-wal`, { force: true }), rm(`${db}-shm`, { force: true })])).then(() => undefined));
    // CDS_AUTH empty = unset, so the development default applies.
    const svc = await startServiceProcess({ CDS_AUTH: '', DATABASE_URL: `sqlite:${db}` });
    try {
      const warning = svc
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{')) // node's own warnings (experimental flags) are plain text
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .find((l) => l.msg.includes('CDS_AUTH=off'));
      expect(warning).toBeDefined();
      expect(warning!.level).toBe(40);
      expect(warning!.msg).toMatch(/^WARNING: .*NOT verified/);
      // And the service answers without a token.
      expect((await fetch(`${svc.baseUrl}/cds-services`)).status).toBe(200);
    } finally {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
  });
});
