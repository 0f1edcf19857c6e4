import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/process.js';

const execFileAsync = promisify(execFile);

/** The findings parser and the rules facts, evaluated in a process whose local time zone is `tz`. */
async function readUnder(tz: string, when: string, now: string): Promise<{ findingsDay?: string; rulesImagingDay?: string; rulesEpisodeWeeks?: number; offsetMinutes: number }> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', 'test/support/zone-less-dates-child.ts', when, now], {
    cwd: REPO_ROOT,
    env: { ...process.env, TZ: tz },
    timeout: 60_000,
  });
  return JSON.parse(stdout) as Awaited<ReturnType<typeof readUnder>>;
}

describe('a zone-less dateTime near midnight', () => {
  // Far offsets either side of UTC: a local-time reading would move 23:30 and 00:15 to another day.
  it.each(['Pacific/Kiritimati', 'Etc/GMT+12', 'UTC'])('lands on the written day in findings and in rules facts under TZ=%s', async (tz) => {
    const late = await readUnder(tz, '2026-03-01T23:30:00', '2026-03-08T23:00:00Z');
    expect(late).toMatchObject({ findingsDay: '2026-03-01', rulesImagingDay: '2026-03-01' });
    // 23:30 UTC on the 1st to 23:00 UTC on the 8th is 30 minutes short of a week.
    expect(late.rulesEpisodeWeeks).toBe(0);

    const early = await readUnder(tz, '2026-03-02T00:15:00', '2026-03-09T00:30:00Z');
    expect(early).toMatchObject({ findingsDay: '2026-03-02', rulesImagingDay: '2026-03-02', rulesEpisodeWeeks: 1 });
  });

  it('really runs the far zones (the check above could not fail if TZ were ignored)', async () => {
    expect((await readUnder('Pacific/Kiritimati', '2026-03-01T23:30:00', '2026-03-08T23:00:00Z')).offsetMinutes).toBe(14 * 60);
    expect((await readUnder('Etc/GMT+12', '2026-03-01T23:30:00', '2026-03-08T23:00:00Z')).offsetMinutes).toBe(-12 * 60);
  });
});
