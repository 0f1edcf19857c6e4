import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/storage/index.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { captureLogger, card, issued } from './contract.js';

/**
 * Issue 14 item 5: one SQLite file serves one service process. The second is refused at startup with
 * a message that says what to do, instead of fighting over the write lock inside its event loop.
 */
const dir = mkdtempSync(join(tmpdir(), 'spine-sqlite-two-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a SQLite file opened twice', () => {
  it('refuses a second store on the same file, and accepts one once the first is closed', async () => {
    const url = `sqlite:${join(dir, 'a.db')}`;
    const first = await openStore(url, { logger: captureLogger().logger, retentionDays: 0 });
    await expect(openStore(url, { logger: captureLogger().logger, retentionDays: 0 })).rejects.toThrow(/another spine-cds process already uses the SQLite database.*PostgreSQL/);
    first.cardsIssued(issued([card('kept')]));
    await first.close();
    const again = await openStore(url, { logger: captureLogger().logger, retentionDays: 0 });
    expect((await again.counts()).issuedCards).toBe(1);
    await again.close();
  });

  it('lets the report command read while the service holds the file', async () => {
    const url = `sqlite:${join(dir, 'b.db')}`;
    const service = await openStore(url, { logger: captureLogger().logger, retentionDays: 0 });
    const report = await openStore(url, { logger: captureLogger().logger, retentionDays: 0, maintenance: false, mustExist: true });
    expect((await report.report({ since: new Date(0) })).rows).toEqual([]);
    await report.close();
    await service.close();
  });

  it('a second real process exits at startup naming the file; after the first is killed a new one starts', async () => {
    const url = `sqlite:${join(dir, 'c.db')}`;
    let first: ServiceProcess | undefined = await startServiceProcess({ DATABASE_URL: url }, 60_000);
    try {
      const second = startServiceProcess({ DATABASE_URL: url }, 60_000);
      const err = await second.then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/exited with [1-9]/);
      expect(err?.message).toContain('another spine-cds process already uses the SQLite database');
      // The first still serves.
      expect((await fetch(`${first.baseUrl}/readyz`)).status).toBe(200);
      // SIGKILL leaves no stale lock: the operating system drops it with the process.
      first.child.kill('SIGKILL');
      await first.exited;
      first = await startServiceProcess({ DATABASE_URL: url }, 60_000);
      expect((await fetch(`${first.baseUrl}/readyz`)).status).toBe(200);
    } finally {
      if (first && first.child.exitCode === null) {
        first.child.kill('SIGKILL');
        await first.exited;
      }
    }
  }, 150_000);
});
