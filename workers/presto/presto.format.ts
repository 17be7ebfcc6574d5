/** Renders query results as compact text for an agent: a header, rows, and a footer that says what was left out. */

export interface FormattableResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  /** More rows existed beyond `rows`. */
  truncated: boolean;
}

export interface FormatOptions {
  format: "tsv" | "markdown";
  maxRows: number;
  maxChars: number;
}

interface Layout {
  header: string[];
  row: (cells: string[]) => string;
}

const LAYOUTS: Record<FormatOptions["format"], (columnNames: string[]) => Layout> = {
  tsv: (names) => ({
    header: [names.map(escapeTsv).join("\t")],
    row: (cells) => cells.map(escapeTsv).join("\t"),
  }),
  markdown: (names) => ({
    header: [markdownRow(names), markdownRow(names.map(() => "---"))],
    row: (cells) => markdownRow(cells),
  }),
};

export function formatRows(result: FormattableResult, options: FormatOptions): string {
  const layout = LAYOUTS[options.format](result.columns.map((column) => column.name));
  const lines = [...layout.header];
  // Reserve room for the longest footer this result can get, so rows never push it past maxChars.
  const footerRoom = footer(result, result.rows.length, "chars").length + 1;
  let length = lines.join("\n").length;
  let shown = 0;
  let cutBy: "rows" | "chars" | undefined;
  for (const row of result.rows) {
    if (shown >= options.maxRows) {
      cutBy = "rows";
      break;
    }
    const line = layout.row(row.map(renderValue));
    if (length + 1 + line.length + footerRoom > options.maxChars) {
      cutBy = "chars";
      break;
    }
    lines.push(line);
    length += 1 + line.length;
    shown++;
  }
  lines.push(footer(result, shown, cutBy ?? (result.truncated ? "rows" : undefined)));
  return lines.join("\n");
}

function footer(result: FormattableResult, shown: number, cutBy: "rows" | "chars" | undefined): string {
  if (!cutBy) return `(${shown} ${shown === 1 ? "row" : "rows"})`;
  const total = result.truncated ? `at least ${result.rows.length + 1}` : `${result.rows.length}`;
  const hint = cutBy === "rows" ? 'raise "limit" or narrow the query' : "select fewer columns or narrow the query";
  return `… truncated: showing ${shown} of ${total} rows; ${hint}`;
}

function renderValue(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

const TSV_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function escapeTsv(text: string): string {
  return text.replace(/[\\\t\n\r]/g, (char) => TSV_ESCAPES[char] ?? char);
}

function markdownRow(cells: string[]): string {
  return `| ${cells.map(escapeMarkdown).join(" | ")} |`;
}

function escapeMarkdown(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r\n|\r|\n/g, "<br>");
}
