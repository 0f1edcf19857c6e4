import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every relative link in the README and docs/ resolves: the file exists and, when the link names a
 * section, the section does (GitHub's heading anchors). Moving text between pages must not leave a
 * reader on a dead link.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGES = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen; repeats get -1, -2. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function links(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/i.test(href));
}

describe('links in the README and docs/', () => {
  it.each(PAGES)('%s: every relative link and section anchor resolves', (page) => {
    const text = readFileSync(path.join(ROOT, page), 'utf8');
    const broken: string[] = [];
    for (const href of links(text)) {
      const [target, anchor] = href.split('#') as [string, string | undefined];
      const file = target === '' ? path.join(ROOT, page) : path.resolve(path.dirname(path.join(ROOT, page)), target);
      if (!existsSync(file)) {
        broken.push(`${href}: no such file`);
        continue;
      }
      if (anchor && statSync(file).isFile() && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor)) {
        broken.push(`${href}: no section #${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

/**
 * The container files cite documentation in comments as docs/<page>.md "<Section>": the page must
 * have that section, as a heading or as a bold paragraph lead-in (**Section.**).
 */
describe('documentation cited by the container files', () => {
  const FILES = ['Dockerfile', ...readdirSync(path.join(ROOT, 'docker')).map((f) => `docker/${f}`)].filter((f) => statSync(path.join(ROOT, f)).isFile());

  it.each(FILES)('%s: every cited page and section exists', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const broken: string[] = [];
    for (const [, page, section] of text.matchAll(/(docs\/[\w-]+\.md),?\s+"([^"]+)"/g)) {
      const target = path.join(ROOT, page!);
      if (!existsSync(target)) {
        broken.push(`${page}: no such file`);
        continue;
      }
      const lines = readFileSync(target, 'utf8').split('\n');
      const found = lines.some((line) => new RegExp(`^#{1,6}\\s+${escape(section!)}\\s*$`).test(line) || line.startsWith(`**${section}.**`));
      if (!found) broken.push(`${page} "${section}": no such section`);
    }
    expect(broken).toEqual([]);
  });

  it('finds the citations it checks', () => {
    expect(readFileSync(path.join(ROOT, 'docker/compose.yaml'), 'utf8')).toMatch(/docs\/[\w-]+\.md,?\s+"[^"]+"/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
