/**
 * Errors a tool handler (or an upstream client) throws. The kit turns each into an MCP tool
 * result with `isError: true`, a message a human and an agent can act on, and `_meta` that
 * says whether retrying may help. Handlers never build error results themselves.
 */

/** How an invocation ended, as recorded in D1 (`invocations.error_class`). */
export type ErrorClass =
  | "bad_arguments"
  | "denied"
  | "not_approved"
  | "upstream_rejected"
  | "upstream_unavailable"
  | "timeout"
  /** The client stopped it (a task's tasks/cancel). */
  | "cancelled"
  | "internal";

export class ToolError extends Error {
  readonly errorClass: ErrorClass;
  readonly retriable: boolean;
  constructor(message: string, errorClass: ErrorClass, retriable = false) {
    super(message);
    this.name = new.target.name;
    this.errorClass = errorClass;
    this.retriable = retriable;
  }
}

/** An argument is well-typed but unacceptable (e.g. a write statement given to a read-only tool). */
export class BadArgumentError extends ToolError {
  readonly argument: string;
  constructor(argument: string, reason: string) {
    super(`Invalid argument "${argument}": ${reason}`, "bad_arguments");
    this.argument = argument;
  }
}

/** The upstream understood the request and refused it (HTTP 4xx, a failed query): not retriable. */
export class UpstreamRejectedError extends ToolError {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message, "upstream_rejected");
    this.status = status;
  }
}

/** The upstream is down, overloaded or erroring (HTTP 5xx, network failure): retriable. */
export class UpstreamUnavailableError extends ToolError {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message, "upstream_unavailable", true);
    this.status = status;
  }
}

/** The upstream did not answer in time: retriable. */
export class UpstreamTimeoutError extends ToolError {
  constructor(message: string) {
    super(message, "timeout", true);
  }
}

/** The caller may not do this; `missing` names what it lacks (a group, a scope, …). */
export class AccessDeniedError extends ToolError {
  readonly missing: string;
  constructor(message: string, missing: string) {
    super(message, "denied");
    this.missing = missing;
  }
}

/** A human was asked to approve the exact action and did not. */
export class NotApprovedError extends ToolError {
  constructor(message: string) {
    super(message, "not_approved");
  }
}
