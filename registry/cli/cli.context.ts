/** What every command gets: the registry client, sign-in, and where output and messages go. */
import type { CredentialsStore } from "./credentials.store.ts";
import type { SignIn } from "./oauth.session.ts";
import type { RegistryClient } from "./registry.api.client.ts";

export interface CliContext {
  registryUrl: string;
  registry: RegistryClient;
  signIn: SignIn;
  store: CredentialsStore;
  /** Results (stdout). */
  out: (text: string) => void;
  /** Progress, prompts and messages (stderr). */
  err: (text: string) => void;
  /** A person can answer on the terminal (stdin is a TTY). */
  interactive: boolean;
  /** Asks one question on the terminal. */
  ask: (question: string) => Promise<string>;
  /** Opens a link in the person's browser; absent when no browser is configured (--no-browser, CI). */
  openUrl?: (url: string) => void;
}

/** A table with a header row, columns padded to their widest cell. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** "2026-11-26 14:03" from an ISO timestamp (UTC), or the input when it does not parse. */
export function shortTime(iso: string | undefined): string {
  if (!iso) return "-";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
