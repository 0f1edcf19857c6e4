import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

/**
 * An error that is the client's to fix (or a precondition the service cannot meet), answered with
 * an OperationOutcome body. Anything else that escapes a handler is an internal error and is
 * answered 500 with no detail (see error-handler.ts).
 */
export class HttpProblem extends Error {
  readonly statusCode: number;
  readonly issues: OperationOutcomeIssue[];

  constructor(statusCode: number, message: string, issues?: OperationOutcomeIssue[]) {
    super(message);
    this.name = 'HttpProblem';
    this.statusCode = statusCode;
    this.issues = issues ?? [{ severity: 'error', code: codeFor(statusCode), diagnostics: message }];
  }
}

export function operationOutcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export function simpleOutcome(statusCode: number, message: string): OperationOutcome {
  return operationOutcome([{ severity: 'error', code: codeFor(statusCode), diagnostics: message }]);
}

function codeFor(statusCode: number): OperationOutcomeIssue['code'] {
  switch (statusCode) {
    case 401:
      return 'login';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 412:
      return 'incomplete';
    case 413:
      return 'too-costly';
    case 415:
      return 'not-supported';
    case 429:
      return 'throttled';
    default:
      return statusCode >= 500 ? 'exception' : 'invalid';
  }
}
