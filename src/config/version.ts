import { readFileSync } from 'node:fs';

/**
 * The service's version, from package.json: one source of truth for /healthz, the startup log line
 * and the OpenAPI description. src/ runs from the repository (tsx) and from dist/src (compiled), so
 * package.json is two or three levels up (src/config/).
 */
function readVersion(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'spine-cds' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; try the next level
    }
  }
  return 'unknown';
}

export const SERVICE_VERSION = readVersion();
