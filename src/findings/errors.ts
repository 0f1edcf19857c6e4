/**
 * The findings loader's errors are the one knowledge-file error type (src/knowledge/knowledge-file-error.ts);
 * MappingLoadError is kept as its older name so existing imports keep working.
 */
export { KnowledgeFileError, KnowledgeFileError as MappingLoadError } from '../knowledge/knowledge-file-error.js';
