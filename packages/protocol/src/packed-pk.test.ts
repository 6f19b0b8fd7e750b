import { describe, expect, it } from "vitest";
import { unpackPk } from "./packed-pk.js";

const hex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

describe("packed primary keys", () => {
  it("decodes what cr-sqlite's crsql_pack_columns produced", () => {
    // crsql_pack_columns('note-123', 'ab')
    expect(unpackPk(hex("020b086e6f74652d3132330b026162"))).toEqual(["note-123", "ab"]);
    // crsql_pack_columns(1, 300, 'x', x'0102', 2.5, NULL)
    expect(unpackPk(hex("06090111012c0b01780c02010202400400000000000005"))).toEqual([
      1n,
      300n,
      "x",
      Uint8Array.from([1, 2]),
      2.5,
      null,
    ]);
    // crsql_pack_columns('', x'', 0, -1, -300, 9223372036854775807)
    expect(unpackPk(hex("0603040141ffffffffffffffff41fffffffffffffed4417fffffffffffffff"))).toEqual(
      ["", new Uint8Array(0), 0n, -1n, -300n, 9223372036854775807n],
    );
  });

  it("refuses truncated, overlong and unknown encodings", () => {
    for (const bad of [
      "",
      "01",
      "010b05616263",
      "0109",
      "0149ffffffffffffffffff",
      "0106",
      "020b0161",
      "0b0161ff",
      "010b0161ff",
    ])
      expect(unpackPk(hex(bad)), bad).toBeNull();
    expect(unpackPk(hex("010b02c328"))).toBeNull(); // not UTF-8
  });
});
