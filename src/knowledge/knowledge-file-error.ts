/**
 * The one error every knowledge loader throws: finding definitions and value sets (mappings/findings,
 * mappings/valuesets), the orders catalog and spine-imaging codes (mappings/orders), the code systems
 * (mappings/codesystems) and the decision-rule settings (the RULE_* variables). A broken file stops
 * startup, and whoever edited it reads which file, where in it, and what is wrong, without reading
 * TypeScript. It lives on its own so that src/ and hooks/ can both throw it without importing each other.
 */
export class KnowledgeFileError extends Error {
  /** The file as the operator knows it (`mappings/valuesets/fever.json`), or `environment` for settings. */
  readonly file: string;
  /** Where inside it: a field path such as `compose.include[0].concept[2].code`, `(file)` for the whole file, or a variable name. */
  readonly path: string;
  /** What is wrong, in words. */
  readonly reason: string;

  constructor(file: string, path: string, reason: string, options?: ErrorOptions) {
    super(`${file}: ${path}: ${reason}`, options);
    this.name = 'KnowledgeFileError';
    this.file = file;
    this.path = path;
    this.reason = reason;
  }

  /** The name the findings loader used for `path` before the loaders shared one error type. */
  get field(): string {
    return this.path;
  }
}

/** `a.b[0].c`, the way every knowledge loader names a place inside a file; `(root)` for the file itself. */
export function fieldPath(parts: readonly PropertyKey[]): string {
  return parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(root)';
}

/**
 * A schema's complaint about a knowledge file: the first problem names the place, any others follow
 * in the reason, so one start shows them all.
 */
export function schemaError(file: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): KnowledgeFileError {
  const [first, ...rest] = issues;
  const reason = [first?.message ?? 'invalid', ...rest.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`)].join('; ');
  return new KnowledgeFileError(file, first ? fieldPath(first.path) : '(root)', reason);
}
