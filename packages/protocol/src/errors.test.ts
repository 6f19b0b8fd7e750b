import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_RULES, ErrorCode } from "./errors.js";

describe("error codes", () => {
  it("PROTOCOL.md §7 lists every code with the close code the rules give it", () => {
    const doc = fs.readFileSync(new URL("../PROTOCOL.md", import.meta.url), "utf8");
    const rows = new Map(
      [...doc.matchAll(/^\| `([a-z_]+)`\s*\|[^|]*\|[^|]*\|\s*(\d{4})\s*\|$/gm)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    for (const code of Object.values(ErrorCode))
      expect(rows.get(code), code).toBe(ERROR_RULES[code].closeCode);
    expect([...rows.keys()].sort()).toEqual(Object.values(ErrorCode).sort());
  });
});
