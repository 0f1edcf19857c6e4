/**
 * A broken mapping file stops startup. The message names the file, the field and the reason so
 * whoever edited the mapping can fix it without reading TypeScript.
 */
export class MappingLoadError extends Error {
  readonly file: string;
  readonly field: string;
  readonly reason: string;

  constructor(file: string, field: string, reason: string) {
    super(`${file}: ${field}: ${reason}`);
    this.name = 'MappingLoadError';
    this.file = file;
    this.field = field;
    this.reason = reason;
  }
}
