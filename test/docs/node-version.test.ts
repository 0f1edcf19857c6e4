import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/process.js';

/**
 * One Node.js story (docs/operations-clients.md, "Node.js"): the release in .nvmrc is the one CI tests
 * on, the Dockerfile's image runs exactly that release, package.json engines accepts it, and the
 * @types/node declared and installed describe its major line.
 */
interface NodeVersionSources {
  nvmrc: string;
  dockerfile: string;
  packageJson: string;
  packageLock: string;
}

function read(file: string): string {
  return readFileSync(path.join(REPO_ROOT, file), 'utf8');
}

const REPOSITORY: NodeVersionSources = {
  nvmrc: read('.nvmrc'),
  dockerfile: read('Dockerfile'),
  packageJson: read('package.json'),
  packageLock: read('package-lock.json'),
};

type Version = [number, number, number];

function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function atLeast(a: Version, b: Version): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return true;
}

/** What disagrees with .nvmrc, one sentence each; empty when all agree. */
function nodeVersionDisagreements(src: NodeVersionSources): string[] {
  const problems: string[] = [];
  const release = parseVersion(src.nvmrc);
  if (!release) return [`.nvmrc: "${src.nvmrc.trim()}" is not an exact release (major.minor.patch)`];
  const nvmrc = release.join('.');
  const major = release[0];

  // Every stage's base image: FROM node:<tag>, or FROM ${ARG} with the ARG's default a node:<tag>.
  const args = new Map([...src.dockerfile.matchAll(/^ARG\s+(\w+)=(\S+)/gm)].map((m) => [m[1]!, m[2]!]));
  const froms = [...src.dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!.replace(/^\$\{(\w+)\}$/, (_all, name: string) => args.get(name) ?? _all));
  if (froms.length === 0) problems.push('Dockerfile: no FROM line');
  for (const image of froms) {
    const tag = /^node:(\d+\.\d+\.\d+)(?:-[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/.exec(image);
    if (!tag) problems.push(`Dockerfile: base image ${image} is not node:<exact release>`);
    else if (tag[1] !== nvmrc) problems.push(`Dockerfile: base image ${image} runs Node ${tag[1]}, .nvmrc says ${nvmrc}`);
  }

  const pkg = JSON.parse(src.packageJson) as { engines?: { node?: string }; devDependencies?: Record<string, string> };
  const engines = pkg.engines?.node ?? '';
  const caret = /^\^(\d+\.\d+\.\d+)$/.exec(engines);
  const floor = caret ? parseVersion(caret[1]!) : undefined;
  if (!floor) problems.push(`package.json engines.node "${engines}" is not ^major.minor.patch (this check reads only that form)`);
  else if (floor[0] !== major || !atLeast(release, floor)) problems.push(`package.json engines.node "${engines}" does not accept .nvmrc's ${nvmrc}`);

  const declared = /^[\^~]?(\d+)\./.exec(pkg.devDependencies?.['@types/node'] ?? '');
  if (!declared || Number(declared[1]) !== major) {
    problems.push(`package.json @types/node "${pkg.devDependencies?.['@types/node'] ?? '(missing)'}" is not Node ${major}'s`);
  }
  const lock = JSON.parse(src.packageLock) as { packages: Record<string, { version?: string }> };
  const installed = lock.packages['node_modules/@types/node']?.version ?? '(missing)';
  if (parseVersion(installed)?.[0] !== major) problems.push(`package-lock.json installs @types/node ${installed}, not Node ${major}'s`);
  return problems;
}

describe('the Node.js version', () => {
  it('.nvmrc, the Dockerfile base image, package.json engines and @types/node agree', () => {
    expect(nodeVersionDisagreements(REPOSITORY)).toEqual([]);
  });

  it('a change to any one of them alone is found', () => {
    const nvmrc = REPOSITORY.nvmrc.trim();
    const [major] = parseVersion(nvmrc)!;
    const next = `${major + 2}.1.0`;
    const pkg = JSON.parse(REPOSITORY.packageJson) as { engines: { node: string }; devDependencies: Record<string, string> };
    const lock = JSON.parse(REPOSITORY.packageLock) as { packages: Record<string, { version: string }> };
    const variants: Array<[string, NodeVersionSources]> = [
      ['.nvmrc', { ...REPOSITORY, nvmrc: `${next}\n` }],
      ['Dockerfile', { ...REPOSITORY, dockerfile: REPOSITORY.dockerfile.replaceAll(nvmrc, next) }],
      ['engines', { ...REPOSITORY, packageJson: JSON.stringify({ ...pkg, engines: { node: `^${next}` } }) }],
      ['@types/node', { ...REPOSITORY, packageJson: JSON.stringify({ ...pkg, devDependencies: { ...pkg.devDependencies, '@types/node': `^${major - 2}.0.0` } }) }],
      ['installed @types/node', { ...REPOSITORY, packageLock: JSON.stringify({ ...lock, packages: { ...lock.packages, 'node_modules/@types/node': { version: `${major - 2}.0.0` } } }) }],
    ];
    expect(REPOSITORY.dockerfile).toContain(nvmrc);
    for (const [changed, sources] of variants) expect(nodeVersionDisagreements(sources), changed).not.toEqual([]);
  });
});
