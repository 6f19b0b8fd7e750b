import { describe, expect, it } from "vitest";
import { sqliteDriverProblem } from "./index.js";

describe("sqliteDriverProblem", () => {
  it("refuses better-sqlite3 12 on Node 24 and later, saying what to install", () => {
    const problem = sqliteDriverProblem("24.21.0", "12.11.1");
    expect(problem).toContain("better-sqlite3 12.11.1 aborts the process on Node.js 24.21.0");
    expect(problem).toContain("npm run install:node24");
    expect(sqliteDriverProblem("26.1.0", "12.11.1")).not.toBeNull();
  });

  it("accepts 12 on Node 20 and 22, 13 on Node 22 and 24", () => {
    expect(sqliteDriverProblem("20.20.2", "12.11.1")).toBeNull();
    expect(sqliteDriverProblem("22.23.3", "12.11.1")).toBeNull();
    expect(sqliteDriverProblem("22.23.3", "13.2.0")).toBeNull();
    expect(sqliteDriverProblem("24.21.0", "13.2.0")).toBeNull();
  });

  it("accepts the driver installed here on the Node running the tests", () => {
    expect(sqliteDriverProblem()).toBeNull();
  });
});
