import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startService } from '../support/service.js';

describe('the service version', () => {
  it('is the package.json version, in /healthz', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const svc = await startService();
    try {
      expect(await (await fetch(`${svc.baseUrl}/healthz`)).json()).toEqual({ status: 'ok', version });
    } finally {
      await svc.close();
    }
  });
});
