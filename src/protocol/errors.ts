import type { OperationOutcomeIssue } from 'fhir/r4';

/**
 * What can go wrong in a hook call, in the protocol's own words. The pipeline throws these; only the
 * server's one error handler (src/http/error-handler.ts) decides which HTTP status each becomes, so
 * the stages stay testable without HTTP and the mapping is read in one place.
 */
export abstract class HookCallError extends Error {
  /** FHIR OperationOutcome issues: the body's detail, path by path where there is one. */
  readonly issues: OperationOutcomeIssue[];

  protected constructor(message: string, code: OperationOutcomeIssue['code'], issues?: OperationOutcomeIssue[]) {
    super(message);
    this.name = new.target.name;
    this.issues = issues ?? [{ severity: 'error', code, diagnostics: message }];
  }
}

/** The request is not a valid CDS Hooks request for this service (envelope, hook or context). */
export class InvalidHookRequest extends HookCallError {
  constructor(message: string, issues?: OperationOutcomeIssue[]) {
    super(message, 'invalid', issues);
  }
}

/** The request names a fhirServer the operator has not allowed: it is never called. */
export class FhirServerNotAllowed extends HookCallError {
  constructor() {
    super("fhirServer is not on this service's allowlist (FHIR_SERVER_ALLOWLIST)", 'forbidden');
  }
}

/** Data the rules cannot judge without was neither prefetched nor readable from the fhirServer. */
export class RequiredDataUnavailable extends HookCallError {
  constructor(
    message: string,
    /** The prefetch keys that are missing, for the log, metrics and the dashboard (names only). */
    readonly keys: string[],
    issues: OperationOutcomeIssue[],
  ) {
    super(message, 'incomplete', issues);
  }
}

/** The call's deadline passed before the answer could be computed: answering late helps nobody. */
export class DeadlineExceeded extends HookCallError {
  constructor(
    /** Which stage it passed before, for the service log; the caller is told only to try again. */
    readonly detail?: string,
  ) {
    super('The service could not answer within its deadline; try again', 'timeout');
  }
}
