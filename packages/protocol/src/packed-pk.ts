/**
 * cr-sqlite's packed primary key (`crsql_changes.pk`): a count byte, then per column a tag byte
 * whose low 3 bits are the type (1 INTEGER, 2 REAL, 3 TEXT, 4 BLOB, 5 NULL) and whose high bits
 * are a byte count: of the integer itself (big-endian, two's complement), or of the length that
 * precedes a TEXT or BLOB. A REAL is 8 bytes. Decoded here, in JS, so a malformed key can be
 * refused before it reaches the extension (whose parser aborts the process on some inputs).
 */
export type PkValue = bigint | number | string | Uint8Array | null;

const decoder = new TextDecoder("utf-8", { fatal: true });

function readUint(bytes: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + bytes[at + i]!;
  return v;
}

/** The key's column values, or null when the bytes are not a well-formed packed key. */
export function unpackPk(bytes: Uint8Array): PkValue[] | null {
  if (bytes.length < 1) return null;
  const count = bytes[0]!;
  const values: PkValue[] = [];
  let at = 1;
  for (let c = 0; c < count; c++) {
    if (at >= bytes.length) return null;
    const tag = bytes[at++]!;
    const type = tag & 0x07;
    const n = tag >> 3;
    switch (type) {
      case 1: {
        if (n > 8 || at + n > bytes.length) return null;
        let v = 0n;
        for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(bytes[at + i]!);
        if (n > 0 && bytes[at]! & 0x80) v -= 1n << BigInt(n * 8);
        values.push(v);
        at += n;
        break;
      }
      case 2: {
        if (at + 8 > bytes.length) return null;
        values.push(new DataView(bytes.buffer, bytes.byteOffset + at, 8).getFloat64(0));
        at += 8;
        break;
      }
      case 3:
      case 4: {
        if (n > 4 || at + n > bytes.length) return null;
        const len = readUint(bytes, at, n);
        at += n;
        if (at + len > bytes.length) return null;
        const raw = bytes.subarray(at, at + len);
        at += len;
        if (type === 4) values.push(raw);
        else
          try {
            values.push(decoder.decode(raw));
          } catch {
            return null;
          }
        break;
      }
      case 5:
        values.push(null);
        break;
      default:
        return null;
    }
  }
  return at === bytes.length ? values : null;
}
