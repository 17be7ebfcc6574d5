/**
 * Trino's transactions as the client protocol exposes them, for the local coordinator. This is
 * protocol and session state; the SQL engine is reached only through its interface:
 *
 * - a request outside a transaction sends `X-Trino-Transaction-Id: NONE` (a client that sends no
 *   such header at all does not support transactions, and may not START one);
 * - `START TRANSACTION [READ ONLY | READ WRITE] [, ISOLATION LEVEL …]` answers with
 *   `X-Trino-Started-Transaction-Id: <uuid>`; the client sends that id on later statements;
 * - `COMMIT` / `ROLLBACK` end it and answer `X-Trino-Clear-Transaction-Id: true`;
 * - a statement that fails inside a transaction aborts it: everything but ROLLBACK is refused
 *   until it ends; an idle transaction expires; an unknown id fails the statement.
 *
 * Each Trino transaction holds an engine transaction (PrestoEngine.begin), which the statements
 * of the transaction run in and which refuses writes itself; it is committed or rolled back with
 * the Trino transaction, and rolled back when the transaction expires or is evicted.
 */
import { randomUUID } from "node:crypto";
import type { EngineTransaction, PrestoEngine } from "./presto.engine.ts";
import { TrinoError } from "./presto.errors.ts";
import { isSymbol, isWord, type Token } from "./presto.lexer.ts";

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
  readonly engine: EngineTransaction;
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
  readonly #engine: Pick<PrestoEngine, "begin" | "end">;
  readonly #idleTimeoutMs: number;
  readonly #max: number;
  #counts = { started: 0, committed: 0, rolledBack: 0 };

  constructor(options: { engine: Pick<PrestoEngine, "begin" | "end">; idleTimeoutMs: number; max: number }) {
    this.#engine = options.engine;
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

  /** The engine transaction a statement other than START/COMMIT/ROLLBACK runs in (none: autocommit); throws if it may not run. */
  engineTransaction(transactionId: string | undefined): EngineTransaction | undefined {
    if (transactionId === undefined) return undefined;
    const transaction = this.#get(transactionId);
    if (transaction.aborted) {
      throw new TrinoError(
        "TRANSACTION_ALREADY_ABORTED",
        "Current transaction is aborted, commands ignored until end of transaction block",
      );
    }
    return transaction.engine;
  }

  /** Runs START TRANSACTION / COMMIT / ROLLBACK for a request with the given header. */
  async control(
    control: TransactionControl,
    header: { transactionId: string | undefined; clientSupport: boolean },
    directive: TransactionDirective,
  ): Promise<string> {
    if (control.kind === "start") {
      if (!header.clientSupport) throw new TrinoError("INCOMPATIBLE_CLIENT", "Client does not support transactions");
      if (header.transactionId !== undefined)
        throw new TrinoError("NOT_SUPPORTED", "Nested transactions not supported");
      directive.startedTransactionId = await this.#begin(control.readOnly);
      return "START TRANSACTION";
    }
    if (header.transactionId === undefined) throw new TrinoError("NOT_IN_TRANSACTION", "No transaction in progress");
    // Trino clears the client's transaction before it tries to end it: the id is void either way.
    directive.clearTransactionId = true;
    const transaction = this.#get(header.transactionId);
    this.#open.delete(transaction.id);
    const commit = control.kind === "commit" && !transaction.aborted;
    await this.#engine.end(transaction.engine, commit);
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

  /** Ends every open transaction (rolled back): the coordinator is closing. */
  async close(): Promise<void> {
    const open = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(open.map((transaction) => this.#forget(transaction)));
  }

  async #begin(readOnly: boolean): Promise<string> {
    this.#expire();
    for (const transaction of this.#open.values()) {
      if (this.#open.size < this.#max) break;
      this.#open.delete(transaction.id);
      void this.#forget(transaction);
    }
    const engine = await this.#engine.begin(readOnly ? "read-only" : "read-write");
    const transaction = { id: randomUUID(), engine, aborted: false, lastUsedAt: Date.now() };
    this.#open.set(transaction.id, transaction);
    this.#counts.started++;
    return transaction.id;
  }

  /** Rolls back the engine transaction of a transaction no client can end any more. */
  async #forget(transaction: Transaction): Promise<void> {
    await this.#engine.end(transaction.engine, false).catch(() => undefined);
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
      if (now - transaction.lastUsedAt <= this.#idleTimeoutMs) continue;
      this.#open.delete(id);
      void this.#forget(transaction);
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
