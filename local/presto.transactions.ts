/**
 * Trino's transactions as the client protocol exposes them, for the local coordinator. This is
 * protocol and session state, independent of the SQL engine behind it:
 *
 * - a request outside a transaction sends `X-Trino-Transaction-Id: NONE` (a client that sends no
 *   such header at all does not support transactions, and may not START one);
 * - `START TRANSACTION [READ ONLY | READ WRITE] [, ISOLATION LEVEL …]` answers with
 *   `X-Trino-Started-Transaction-Id: <uuid>`; the client sends that id on later statements;
 * - `COMMIT` / `ROLLBACK` end it and answer `X-Trino-Clear-Transaction-Id: true`;
 * - a statement that fails inside a transaction aborts it: everything but ROLLBACK is refused
 *   until it ends; an idle transaction expires; an unknown id fails the statement.
 *
 * The engine is told only the access mode a statement runs with (`WriteAccess`), and refuses
 * writes accordingly (READ_ONLY_VIOLATION, as Trino's transaction manager does).
 */
import { randomUUID } from "node:crypto";
import { TrinoError } from "./presto.errors.ts";
import { isSymbol, isWord, type Token } from "./presto.lexer.ts";

/** How a statement may write: in autocommit, in an explicit read-only or read-write transaction. */
export type WriteAccess = "autocommit" | "read-only" | "read-write";

export type TransactionControl = { kind: "start"; readOnly: boolean } | { kind: "commit" } | { kind: "rollback" };

/** What the request's transaction header says. */
export type TransactionHeader =
  | { ok: true; transactionId: string | undefined; clientSupport: boolean }
  | { ok: false; message: string };

export interface TransactionStats {
  started: number;
  committed: number;
  rolledBack: number;
  open: number;
}

/** What ending or starting a transaction asks the client to do, sent as response headers. */
export interface TransactionDirective {
  startedTransactionId?: string;
  clearTransactionId?: boolean;
}

interface Transaction {
  readonly id: string;
  readonly readOnly: boolean;
  aborted: boolean;
  lastUsedAt: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISOLATION_LEVELS = ["READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"];

/** Parses the `X-Trino-Transaction-Id` / `X-Presto-Transaction-Id` request header like Trino. */
export function parseTransactionHeader(value: string | undefined): TransactionHeader {
  const trimmed = value?.trim() ?? "";
  if (value === undefined) return { ok: true, transactionId: undefined, clientSupport: false };
  if (trimmed === "" || trimmed.toLowerCase() === "none")
    return { ok: true, transactionId: undefined, clientSupport: true };
  if (!UUID.test(trimmed)) return { ok: false, message: `Invalid UUID string: ${trimmed}` };
  return { ok: true, transactionId: trimmed.toLowerCase(), clientSupport: true };
}

/**
 * START TRANSACTION, COMMIT [WORK] or ROLLBACK [WORK]; undefined for any other statement.
 * Throws SYNTAX_ERROR for a malformed transaction statement.
 */
export function transactionControl(tokens: Token[]): TransactionControl | undefined {
  const [first, second] = tokens;
  if (isWord(first, "COMMIT", "ROLLBACK")) {
    const rest = tokens.slice(isWord(second, "WORK") ? 2 : 1);
    if (rest[0]) throw syntaxError(rest[0], "<EOF>");
    return { kind: isWord(first, "COMMIT") ? "commit" : "rollback" };
  }
  if (!isWord(first, "START") || !isWord(second, "TRANSACTION")) return undefined;
  let readOnly = false;
  let at = 2;
  while (at < tokens.length) {
    const text = words(tokens, at, 4);
    const isolation = ISOLATION_LEVELS.find((level) => text.startsWith(`ISOLATION LEVEL ${level}`));
    if (text.startsWith("READ ONLY") || text.startsWith("READ WRITE")) {
      readOnly = text.startsWith("READ ONLY");
      at += 2;
    } else if (isolation) {
      at += 2 + isolation.split(" ").length;
    } else {
      throw syntaxError(tokens[at] as Token, "'ISOLATION', 'READ'");
    }
    if (at < tokens.length && !isSymbol(tokens[at], ",")) throw syntaxError(tokens[at] as Token, "',', <EOF>");
    if (isSymbol(tokens[at], ",")) at++;
  }
  return { kind: "start", readOnly };
}

export class Transactions {
  readonly #open = new Map<string, Transaction>();
  readonly #idleTimeoutMs: number;
  readonly #max: number;
  #counts = { started: 0, committed: 0, rolledBack: 0 };

  constructor(options: { idleTimeoutMs: number; max: number }) {
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#max = options.max;
  }

  stats(): TransactionStats {
    this.#expire();
    return { ...this.#counts, open: this.#open.size };
  }

  resetStats(): void {
    this.#counts = { started: 0, committed: 0, rolledBack: 0 };
  }

  /** The access a statement other than START/COMMIT/ROLLBACK runs with; throws if it may not run. */
  accessFor(transactionId: string | undefined): WriteAccess {
    if (transactionId === undefined) return "autocommit";
    const transaction = this.#get(transactionId);
    if (transaction.aborted) {
      throw new TrinoError(
        "TRANSACTION_ALREADY_ABORTED",
        "Current transaction is aborted, commands ignored until end of transaction block",
      );
    }
    return transaction.readOnly ? "read-only" : "read-write";
  }

  /** Runs START TRANSACTION / COMMIT / ROLLBACK for a request with the given header. */
  control(
    control: TransactionControl,
    header: { transactionId: string | undefined; clientSupport: boolean },
    directive: TransactionDirective,
  ): string {
    if (control.kind === "start") {
      if (!header.clientSupport) throw new TrinoError("INCOMPATIBLE_CLIENT", "Client does not support transactions");
      if (header.transactionId !== undefined)
        throw new TrinoError("NOT_SUPPORTED", "Nested transactions not supported");
      directive.startedTransactionId = this.#begin(control.readOnly);
      return "START TRANSACTION";
    }
    if (header.transactionId === undefined) throw new TrinoError("NOT_IN_TRANSACTION", "No transaction in progress");
    // Trino clears the client's transaction before it tries to end it: the id is void either way.
    directive.clearTransactionId = true;
    const transaction = this.#get(header.transactionId);
    this.#open.delete(transaction.id);
    if (control.kind === "rollback") {
      this.#counts.rolledBack++;
      return "ROLLBACK";
    }
    if (transaction.aborted) {
      this.#counts.rolledBack++;
      throw new TrinoError("TRANSACTION_ALREADY_ABORTED", "Current transaction has already been aborted");
    }
    this.#counts.committed++;
    return "COMMIT";
  }

  /** A statement of this transaction failed: only ROLLBACK (or COMMIT, which fails) may follow. */
  fail(transactionId: string): void {
    const transaction = this.#open.get(transactionId);
    if (transaction) transaction.aborted = true;
  }

  #begin(readOnly: boolean): string {
    this.#expire();
    for (const id of this.#open.keys()) {
      if (this.#open.size < this.#max) break;
      this.#open.delete(id);
    }
    const transaction = { id: randomUUID(), readOnly, aborted: false, lastUsedAt: Date.now() };
    this.#open.set(transaction.id, transaction);
    this.#counts.started++;
    return transaction.id;
  }

  #get(transactionId: string): Transaction {
    this.#expire();
    const transaction = this.#open.get(transactionId);
    if (!transaction) {
      throw new TrinoError(
        "UNKNOWN_TRANSACTION",
        `Unknown transaction ID: ${transactionId}. Possibly expired? Commands ignored until end of transaction block`,
      );
    }
    transaction.lastUsedAt = Date.now();
    return transaction;
  }

  #expire(): void {
    const now = Date.now();
    for (const [id, transaction] of this.#open) {
      if (now - transaction.lastUsedAt > this.#idleTimeoutMs) this.#open.delete(id);
    }
  }
}

function words(tokens: Token[], from: number, count: number): string {
  return tokens
    .slice(from, from + count)
    .map((token) => token.text.toUpperCase())
    .join(" ");
}

function syntaxError(token: Token, expecting: string): TrinoError {
  return new TrinoError("SYNTAX_ERROR", `mismatched input '${token.text}'. Expecting: ${expecting}`, token.start);
}
