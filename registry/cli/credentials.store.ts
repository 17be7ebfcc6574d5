/**
 * The CLI's credentials file, ${XDG_CONFIG_HOME:-~/.config}/mcp-fleet/credentials.json (mode 0600,
 * directory 0700): the OAuth client registered at each authorization server, and one token set
 * per resource (the registry and every domain server are separate audiences).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { OAuthClientInformationMixed } from "@modelcontextprotocol/client";
import { CliError } from "./cli.errors.ts";

export interface StoredTokens {
  /** The RFC 8707 resource (audience) the tokens are bound to. */
  resource: string;
  /** The authorization server that issued them (refresh tokens go nowhere else). */
  issuer: string;
  /** The registry through which they were obtained (what `fleet logout` clears). */
  registry: string;
  access_token: string;
  token_type: string;
  refresh_token?: string;
  /** Granted scopes, space separated. */
  scope?: string;
  /** Epoch milliseconds; absent when the server gave no lifetime. */
  expiresAt?: number;
  obtainedAt: number;
}

export interface CredentialsFile {
  version: 1;
  /** By authorization server URL: the client registered there (dynamic registration). */
  clients: Record<string, OAuthClientInformationMixed>;
  /** By resource. */
  tokens: Record<string, StoredTokens>;
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "mcp-fleet", "credentials.json");
}

export class CredentialsStore {
  readonly path: string;

  constructor(path = credentialsPath()) {
    this.path = path;
  }

  read(): CredentialsFile {
    if (!existsSync(this.path)) return { version: 1, clients: {}, tokens: {} };
    let parsed: Partial<CredentialsFile>;
    try {
      parsed = JSON.parse(readFileSync(this.path, "utf8")) as Partial<CredentialsFile>;
    } catch (error) {
      throw new CliError(
        `cannot read ${this.path} (${(error as Error).message}); delete it and sign in again with fleet login`,
      );
    }
    return { version: 1, clients: parsed.clients ?? {}, tokens: parsed.tokens ?? {} };
  }

  /** Read, change, write back atomically (temporary file, 0600, rename). */
  update(change: (file: CredentialsFile) => void): CredentialsFile {
    const file = this.read();
    change(file);
    this.write(file);
    return file;
  }

  tokens(resource: string): StoredTokens | undefined {
    return this.read().tokens[resource];
  }

  private write(file: CredentialsFile): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
      chmodSync(temporary, 0o600); // in case the file existed with a looser mode
      renameSync(temporary, this.path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw new CliError(`cannot write ${this.path}: ${(error as Error).message}`);
    }
  }
}
