import { describe, expect, it } from "vitest";
import { formatRows } from "./presto.format";

const columns = [
  { name: "id", type: "bigint" },
  { name: "name", type: "varchar" },
];

const roomy = { maxRows: 1_000, maxChars: 100_000 };

function numbered(count: number): unknown[][] {
  return Array.from({ length: count }, (_, index) => [index + 1, `name ${index + 1}`]);
}

describe("formatRows as TSV", () => {
  it("writes a header, the rows and a row count", () => {
    const text = formatRows(
      {
        columns,
        rows: [
          [1, "ada"],
          [2, "grace"],
        ],
        truncated: false,
      },
      { format: "tsv", ...roomy },
    );
    expect(text).toBe("id\tname\n1\tada\n2\tgrace\n(2 rows)");
  });

  it("says (1 row) and (0 rows), keeping the header", () => {
    expect(formatRows({ columns, rows: [[1, "a"]], truncated: false }, { format: "tsv", ...roomy })).toBe(
      "id\tname\n1\ta\n(1 row)",
    );
    expect(formatRows({ columns, rows: [], truncated: false }, { format: "tsv", ...roomy })).toBe("id\tname\n(0 rows)");
  });

  it("escapes tabs, newlines and backslashes and writes NULL for null", () => {
    const rows = [[null, "a\tb\nc\\d\re"]];
    expect(formatRows({ columns, rows, truncated: false }, { format: "tsv", ...roomy })).toBe(
      "id\tname\nNULL\ta\\tb\\nc\\\\d\\re\n(1 row)",
    );
  });

  it("renders arrays, maps and rows as compact JSON, and other scalars as text", () => {
    const rows = [
      [[1, 2, 3], { k: "v", n: null }],
      [true, 1.5],
      ["", 0],
    ];
    const text = formatRows({ columns, rows, truncated: false }, { format: "tsv", ...roomy });
    expect(text).toBe('id\tname\n[1,2,3]\t{"k":"v","n":null}\ntrue\t1.5\n\t0\n(3 rows)');
  });

  it("counts 10 000 rows", () => {
    const text = formatRows(
      { columns, rows: numbered(10_000), truncated: false },
      { format: "tsv", maxRows: 10_000, maxChars: 1_000_000 },
    );
    expect(text.split("\n")).toHaveLength(10_002);
    expect(text.endsWith("\n10000\tname 10000\n(10000 rows)")).toBe(true);
  });
});

describe("formatRows caps", () => {
  it("caps by rows and says how many exist", () => {
    const text = formatRows(
      { columns, rows: numbered(10), truncated: false },
      { format: "tsv", maxRows: 3, maxChars: 100_000 },
    );
    expect(text).toBe(
      'id\tname\n1\tname 1\n2\tname 2\n3\tname 3\n… truncated: showing 3 of 10 rows; raise "limit" or narrow the query',
    );
  });

  it("says 'at least' when the query itself was truncated", () => {
    const text = formatRows(
      { columns, rows: numbered(200), truncated: true },
      { format: "tsv", maxRows: 200, maxChars: 100_000 },
    );
    expect(text.split("\n")).toHaveLength(202);
    expect(text.endsWith('\n… truncated: showing 200 of at least 201 rows; raise "limit" or narrow the query')).toBe(
      true,
    );
  });

  it("caps by characters without cutting a row, footer included", () => {
    const rows = numbered(1_000);
    for (const maxChars of [120, 200, 333, 1_000, 4_096]) {
      const text = formatRows({ columns, rows, truncated: false }, { format: "tsv", maxRows: 1_000, maxChars });
      expect(text.length).toBeLessThanOrEqual(maxChars);
      const lines = text.split("\n");
      const footer = lines.pop() as string;
      const shown = lines.length - 1;
      expect(footer).toBe(`… truncated: showing ${shown} of 1000 rows; select fewer columns or narrow the query`);
      expect(lines.slice(1)).toEqual(rows.slice(0, shown).map((row) => row.join("\t")));
    }
  });

  it("keeps the header and footer even when no row fits", () => {
    const text = formatRows(
      { columns, rows: [[1, "x".repeat(500)]], truncated: false },
      { format: "tsv", maxRows: 10, maxChars: 100 },
    );
    expect(text).toBe("id\tname\n… truncated: showing 0 of 1 rows; select fewer columns or narrow the query");
  });
});

describe("formatRows as markdown", () => {
  it("writes a table with escaped pipes and newlines", () => {
    const rows = [
      [1, "a|b"],
      [null, "line 1\nline 2"],
    ];
    expect(formatRows({ columns, rows, truncated: false }, { format: "markdown", ...roomy })).toBe(
      ["| id | name |", "| --- | --- |", "| 1 | a\\|b |", "| NULL | line 1<br>line 2 |", "(2 rows)"].join("\n"),
    );
  });

  it("caps and marks truncation the same way", () => {
    const text = formatRows(
      { columns, rows: numbered(5), truncated: true },
      { format: "markdown", maxRows: 2, maxChars: 100_000 },
    );
    expect(text).toBe(
      [
        "| id | name |",
        "| --- | --- |",
        "| 1 | name 1 |",
        "| 2 | name 2 |",
        '… truncated: showing 2 of at least 6 rows; raise "limit" or narrow the query',
      ].join("\n"),
    );
  });

  it("writes only the header for zero rows", () => {
    expect(formatRows({ columns, rows: [], truncated: false }, { format: "markdown", ...roomy })).toBe(
      "| id | name |\n| --- | --- |\n(0 rows)",
    );
  });
});
