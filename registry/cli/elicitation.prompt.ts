/**
 * Answers a server's elicitation. Form mode (e.g. the approval of a destructive tool call): asks
 * the person on the terminal; without a terminal, declines unless `--yes` was given. URL mode
 * (a high-risk approval given on the fleet registry's page): prints the link, opens it when a
 * browser is configured, and lets the call wait for the decision made there (`--yes` cannot give it).
 */
import type { ElicitRequestFormParams, ElicitRequestURLParams, ElicitResult } from "@modelcontextprotocol/client";

type Field = ElicitRequestFormParams["requestedSchema"]["properties"][string];
type Value = string | number | boolean | string[];

export interface ElicitationIo {
  /** Approve yes/no questions without asking (`--yes`). */
  yes: boolean;
  /** A person can answer on the terminal. */
  interactive: boolean;
  /** Asks one question on the terminal and returns the answer line. */
  ask: (question: string) => Promise<string>;
  log: (line: string) => void;
}

/** Opens a URL in the person's browser (fleet.ts: only when a browser is configured). */
export type OpenUrl = (url: string) => void;

/**
 * A URL elicitation: only an http(s) link is shown (anything else is declined); the answer
 * "accept" says the person was given it, not that anything is approved: that happens on the page.
 */
export function answerUrlElicitation(
  params: ElicitRequestURLParams,
  io: Pick<ElicitationIo, "log" | "yes">,
  open?: OpenUrl,
): ElicitResult {
  if (!URL.canParse(params.url) || !/^https?:$/.test(new URL(params.url).protocol)) {
    io.log(`\nThe server asked to open "${params.url}", which is not an http(s) link: declined.`);
    return { action: "decline" };
  }
  io.log(`\nThe server asks for your decision on a web page:\n  ${params.message}`);
  io.log(`\nOpen this link, sign in as yourself, and approve or reject it there:\n\n  ${params.url}\n`);
  if (io.yes) io.log("(--yes does not apply: this approval is given only on that page.)");
  if (open) {
    open(params.url);
    io.log("Opened it in your browser.");
  }
  io.log("Waiting for your decision…");
  return { action: "accept" };
}

export async function answerElicitation(params: ElicitRequestFormParams, io: ElicitationIo): Promise<ElicitResult> {
  const { properties, required = [] } = params.requestedSchema;
  const fields = Object.entries(properties);
  io.log(`\nThe server asks for your approval:\n  ${params.message}`);

  if (fields.every(([, field]) => field.type === "boolean")) {
    let approved: boolean;
    if (io.yes) {
      io.log("Approved (--yes).");
      approved = true;
    } else if (io.interactive) {
      approved = isYes(await io.ask("Approve? [y/N] "));
    } else {
      io.log("Declined: there is no terminal to ask on (stdin is not a TTY). Pass --yes to approve.");
      return { action: "decline" };
    }
    if (!approved) return { action: "decline" };
    return { action: "accept", content: Object.fromEntries(fields.map(([name]) => [name, true])) };
  }

  if (!io.interactive) {
    const defaults = Object.fromEntries(
      fields.filter(([, field]) => field.default !== undefined).map(([name, field]) => [name, field.default as Value]),
    );
    const missing = required.filter((name) => !(name in defaults));
    if (io.yes && missing.length === 0) {
      io.log("Accepted with the defaults (--yes).");
      return { action: "accept", content: defaults };
    }
    io.log("Declined: the server asks for input and there is no terminal to ask on (stdin is not a TTY).");
    return { action: "decline" };
  }

  const content: Record<string, Value> = {};
  for (const [name, field] of fields) {
    const value = await askField(name, field, required.includes(name), io);
    if (value !== undefined) content[name] = value;
  }
  if (!isYes(await io.ask("Send these answers? [y/N] "))) return { action: "decline" };
  return { action: "accept", content };
}

async function askField(name: string, field: Field, required: boolean, io: ElicitationIo): Promise<Value | undefined> {
  const label = field.title ?? name;
  const choices = choicesOf(field);
  const hint = [field.description, choices ? `one of: ${choices.join(", ")}` : undefined, defaultHint(field)]
    .filter(Boolean)
    .join("; ");
  for (;;) {
    const answer = (await io.ask(`${label}${hint ? ` (${hint})` : ""}${required ? "" : " [optional]"}: `)).trim();
    if (answer === "") {
      if (field.default !== undefined) return field.default as Value;
      if (!required) return undefined;
      io.log(`${label} is required.`);
      continue;
    }
    const value = parseField(answer, field, choices);
    if (value !== undefined) return value;
    io.log(`"${answer}" is not a valid ${label}.`);
  }
}

function parseField(answer: string, field: Field, choices: string[] | undefined): Value | undefined {
  switch (field.type) {
    case "boolean":
      return isYes(answer) ? true : /^(n|no|false|0)$/i.test(answer) ? false : undefined;
    case "number":
    case "integer": {
      const value = Number(answer);
      if (!Number.isFinite(value) || (field.type === "integer" && !Number.isInteger(value))) return undefined;
      return value;
    }
    case "array": {
      const values = answer
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean);
      return choices && values.some((value) => !choices.includes(value)) ? undefined : values;
    }
    default:
      return choices && !choices.includes(answer) ? undefined : answer;
  }
}

function choicesOf(field: Field): string[] | undefined {
  if ("enum" in field && Array.isArray(field.enum)) return field.enum;
  if ("oneOf" in field && Array.isArray(field.oneOf)) return field.oneOf.map((option) => option.const);
  if ("items" in field && field.items) {
    const items = field.items as { enum?: string[]; anyOf?: { const: string }[] };
    return items.enum ?? items.anyOf?.map((option) => option.const);
  }
  return undefined;
}

function defaultHint(field: Field): string | undefined {
  return field.default === undefined ? undefined : `default ${JSON.stringify(field.default)}`;
}

function isYes(answer: string): boolean {
  return /^(y|yes|true|1)$/i.test(answer.trim());
}
