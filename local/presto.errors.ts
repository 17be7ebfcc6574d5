/**
 * Failures of the local Presto/Trino coordinator, shaped as Trino reports them: its
 * StandardErrorCode names, codes and types, and the `error` object of the client protocol.
 */

export interface ErrorLocation {
  lineNumber: number;
  columnNumber: number;
}

export interface QueryError {
  message: string;
  errorCode: number;
  errorName: string;
  errorType: string;
  errorLocation?: ErrorLocation;
  failureInfo: {
    type: string;
    message: string;
    suppressed: [];
    stack: string[];
    errorLocation?: ErrorLocation;
  };
}

/** Trino's StandardErrorCode values used here: [code, type]. */
export const ERROR_CODES = {
  GENERIC_USER_ERROR: [0, "USER_ERROR"],
  SYNTAX_ERROR: [1, "USER_ERROR"],
  USER_CANCELED: [3, "USER_ERROR"],
  PERMISSION_DENIED: [4, "USER_ERROR"],
  FUNCTION_NOT_FOUND: [6, "USER_ERROR"],
  INVALID_FUNCTION_ARGUMENT: [7, "USER_ERROR"],
  INVALID_CAST_ARGUMENT: [9, "USER_ERROR"],
  NOT_SUPPORTED: [13, "USER_ERROR"],
  CONSTRAINT_VIOLATION: [16, "USER_ERROR"],
  NUMERIC_VALUE_OUT_OF_RANGE: [19, "USER_ERROR"],
  UNKNOWN_TRANSACTION: [20, "USER_ERROR"],
  NOT_IN_TRANSACTION: [21, "USER_ERROR"],
  TRANSACTION_ALREADY_ABORTED: [22, "USER_ERROR"],
  READ_ONLY_VIOLATION: [23, "USER_ERROR"],
  AUTOCOMMIT_WRITE_CONFLICT: [25, "USER_ERROR"],
  INCOMPATIBLE_CLIENT: [27, "USER_ERROR"],
  SCHEMA_NOT_EMPTY: [34, "USER_ERROR"],
  TYPE_NOT_FOUND: [43, "USER_ERROR"],
  CATALOG_NOT_FOUND: [44, "USER_ERROR"],
  SCHEMA_NOT_FOUND: [45, "USER_ERROR"],
  TABLE_NOT_FOUND: [46, "USER_ERROR"],
  COLUMN_NOT_FOUND: [47, "USER_ERROR"],
  SCHEMA_ALREADY_EXISTS: [49, "USER_ERROR"],
  TABLE_ALREADY_EXISTS: [50, "USER_ERROR"],
  MISSING_COLUMN_NAME: [55, "USER_ERROR"],
  MISSING_CATALOG_NAME: [56, "USER_ERROR"],
  MISSING_SCHEMA_NAME: [57, "USER_ERROR"],
  TYPE_MISMATCH: [58, "USER_ERROR"],
  AMBIGUOUS_NAME: [62, "USER_ERROR"],
  GENERIC_INTERNAL_ERROR: [65536, "INTERNAL_ERROR"],
  EXCEEDED_LOCAL_MEMORY_LIMIT: [131079, "INSUFFICIENT_RESOURCES"],
} as const;

export type ErrorName = keyof typeof ERROR_CODES;

/** A Trino-style failure; `position` is a 0-based offset into the SQL text. */
export class TrinoError extends Error {
  readonly errorName: ErrorName;
  readonly position: number | undefined;

  constructor(errorName: ErrorName, message: string, position?: number) {
    super(message);
    this.errorName = errorName;
    this.position = position;
  }
}

export function lineColumn(sql: string, offset: number): ErrorLocation {
  const before = sql.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { lineNumber: before.split("\n").length, columnNumber: offset - lineStart + 1 };
}

export function toQueryError(error: unknown, sql: string): QueryError {
  const failure =
    error instanceof TrinoError
      ? error
      : new TrinoError("GENERIC_INTERNAL_ERROR", error instanceof Error ? error.message : String(error));
  const [errorCode, errorType] = ERROR_CODES[failure.errorName];
  const location = failure.position === undefined ? undefined : lineColumn(sql, failure.position);
  const message = location
    ? `line ${location.lineNumber}:${location.columnNumber}: ${failure.message}`
    : failure.message;
  const type =
    failure.errorName === "SYNTAX_ERROR" ? "io.trino.sql.parser.ParsingException" : "io.trino.spi.TrinoException";
  return {
    message,
    errorCode,
    errorName: failure.errorName,
    errorType,
    errorLocation: location,
    failureInfo: { type, message, suppressed: [], stack: [], errorLocation: location },
  };
}
