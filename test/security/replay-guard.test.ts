import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SharedReplayGuard } from '../../src/auth/replay.js';
import { openStore } from '../../src/storage/index.js';
import { captureLogger } from '../storage/contract.js';

/**
 * The shared replay guard on a real SQLite store: first use fresh, second refused, an expired entry
 * usable again, and a store that fails lets calls through on the per-process check (logged), without
 * asking the store again during the back-off.
 */
const dir = mkdtempSync(join(tmpdir(), 'spine-replay-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SharedReplayGuard', () => {
  it('fresh, then replayed; another issuer may use the same jti; an expired claim is reusable', async () => {
    const store = await openStore(`sqlite:${join(dir, 'a.db')}`, { logger: captureLogger().logger, retentionDays: 0 });
    try {
      const { logger } = captureLogger();
      const guard = new SharedReplayGuard(store, { timeoutMs: 1000, logger });
      const jti = randomUUID();
      const exp = Date.now() + 60_000;
      expect(await guard.claim('https://ehr-a', jti, exp)).toBe('fresh');
      expect(await guard.claim('https://ehr-a', jti, exp)).toBe('replayed');
      expect(await guard.claim('https://ehr-b', jti, exp)).toBe('fresh');
      const old = randomUUID();
      expect(await guard.claim('https://ehr-a', old, Date.now() - 1)).toBe('fresh');
      expect(await guard.claim('https://ehr-a', old, Date.now() + 60_000)).toBe('fresh');
    } finally {
      await store.close();
    }
  });

  it('a failing store: the call goes through unchecked, the error is logged, the store is left alone for the back-off', async () => {
    const store = await openStore(`sqlite:${join(dir, 'b.db')}`, { logger: captureLogger().logger, retentionDays: 0 });
    await store.close();
    const { logger, lines } = captureLogger();
    let now = 1_000_000;
    const guard = new SharedReplayGuard(store, { timeoutMs: 1000, backoffMs: 5000, logger, now: () => now });
    expect(await guard.claim('https://ehr', randomUUID(), Date.now() + 60_000)).toBe('unchecked');
    expect(await guard.claim('https://ehr', randomUUID(), Date.now() + 60_000)).toBe('unchecked');
    const errors = lines().filter((l) => String(l.msg).startsWith('replay store unavailable'));
    expect(errors).toHaveLength(1);
    now += 6000;
    expect(await guard.claim('https://ehr', randomUUID(), Date.now() + 60_000)).toBe('unchecked');
    expect(lines().filter((l) => String(l.msg).startsWith('replay store unavailable'))).toHaveLength(2);
    expect(guard.uncheckedCount).toBe(3);
  });
});
