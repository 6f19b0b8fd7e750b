import { describe, expect, it } from "vitest";
import { mergeText } from "./text-merge.js";

describe("mergeText", () => {
  const base = "Shopping\n\nmilk\n\nCall mum on Sunday";

  it("merges edits of different paragraphs", () => {
    const phone = "Shopping\n\nmilk, eggs\n\nCall mum on Sunday";
    const laptop = "Shopping\n\nmilk\n\nCall mum on Saturday";
    expect(mergeText(base, phone, laptop)).toBe("Shopping\n\nmilk, eggs\n\nCall mum on Saturday");
  });

  it("refuses edits of the same line", () => {
    expect(
      mergeText(base, base.replace("milk", "oat milk"), base.replace("milk", "soy milk")),
    ).toBeNull();
  });

  it("takes identical edits once", () => {
    const both = base.replace("milk", "bread");
    expect(mergeText(base, both, both)).toBe(both);
  });
});
