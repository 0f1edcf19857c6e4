import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { KnowledgeFileError, schemaError } from '../../src/knowledge/knowledge-file-error.js';

/**
 * Reading the rules' knowledge files (mappings/codesystems and orders, hooks/topics, hooks/sources.yaml,
 * hooks/phrases.yaml): every failure is a KnowledgeFileError naming the file as `<folder>/<path>`, the
 * place in it and what is wrong, so whoever edited it needs no TypeScript to fix it.
 */

/** The file as the loaders name it: its folder's name, then the path inside it (`mappings/orders/catalog.yaml`). */
export function knowledgeFileName(root: string, relative: string): string {
  return `${path.basename(path.resolve(root))}/${relative}`;
}

/** JSON or YAML by the file's extension; a file that does not parse names itself. */
export function parseKnowledgeText(root: string, relative: string, text: string): unknown {
  try {
    return relative.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const kind = relative.endsWith('.json') ? 'JSON' : 'YAML';
    throw new KnowledgeFileError(knowledgeFileName(root, relative), '(file)', `not valid ${kind}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** A file that cannot be read, with the reason the file system gave. */
export function unreadable(root: string, relative: string, err: unknown): KnowledgeFileError {
  return new KnowledgeFileError(knowledgeFileName(root, relative), '(file)', `cannot read: ${(err as Error).message}`, { cause: err });
}

/** Read, parsed and checked against its schema, synchronously (for what is read when a module loads). */
export function readKnowledgeFileSync<T>(root: string, relative: string, schema: z.ZodType<T>): { name: string; data: T } {
  const name = knowledgeFileName(root, relative);
  let text: string;
  try {
    text = readFileSync(path.join(root, relative), 'utf8');
  } catch (err) {
    throw unreadable(root, relative, err);
  }
  const parsed = schema.safeParse(parseKnowledgeText(root, relative, text));
  if (!parsed.success) throw schemaError(name, parsed.error.issues);
  return { name, data: parsed.data };
}
