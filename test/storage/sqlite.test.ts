import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, parseDatabaseUrl } from '../../src/storage/index.js';
import { captureLogger, card, issued, storeContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'spine-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeContract('SQLite', {
  newDatabaseUrl: async () => `sqlite:${join(dir, `db-${++n}.db`)}`,
  raw: async (url, sql) => {
    const db = new Database(parseDatabaseUrl(url).kind === 'sqlite' ? url.slice('sqlite:'.length) : '');
    try {
      const stmt = db.prepare(sql);
      return stmt.reader ? (stmt.all() as Array<Record<string, unknown>>) : (stmt.run(), []);
    } finally {
      db.close();
    }
  },
});

describe('SQLite specifics', () => {
  it('creates the file and its directory on first start, in WAL mode with synchronous=FULL', async () => {
    const path = join(dir, 'nested', 'deeper', 'spine-cds.db');
    const { logger, lines } = captureLogger();
    const store = await openStore(`sqlite:${path}`, { logger, retentionDays: 400 });
    expect(lines()).toContainEqual(expect.objectContaining({ msg: 'sqlite store settings', journalMode: 'wal', synchronous: 'FULL' }));
    store.cardsIssued(issued([card('a')]));
    await store.flush();
    expect(existsSync(path)).toBe(true);
    const db = new Database(path);
    // journal_mode is persistent in the file (synchronous is per connection: the store's own is read back above).
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await store.close();
  });

  it('works in memory (sqlite::memory:) for tests', async () => {
    const store = await openStore('sqlite::memory:', { logger: captureLogger().logger, retentionDays: 400 });
    store.cardsIssued(issued([card('a')]));
    await store.flush();
    expect((await store.counts()).issuedCards).toBe(1);
    await store.close();
  });

  it('the report command can insist the file exists', async () => {
    await expect(
      openStore(`sqlite:${join(dir, 'missing.db')}`, { logger: captureLogger().logger, retentionDays: 0, mustExist: true }),
    ).rejects.toThrow();
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
  });

  it('parses DATABASE_URL and rejects what it does not know', () => {
    expect(parseDatabaseUrl('sqlite:./data/spine-cds.db')).toEqual({ kind: 'sqlite', path: './data/spine-cds.db' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
    expect(parseDatabaseUrl('sqlite:///var/lib/x.db')).toEqual({ kind: 'sqlite', path: '/var/lib/x.db' });
    expect(parseDatabaseUrl('postgresql://u:p@h/db')).toEqual({ kind: 'postgres', url: 'postgresql://u:p@h/db' });
    expect(() => parseDatabaseUrl('mysql://x')).toThrow(/sqlite:<path> or postgres/);
  });
});
