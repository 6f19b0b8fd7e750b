/** A seeded generator (mulberry32) with helpers, so a failing random test reproduces from its seed. */
export interface SeededRandom {
  /** A number in [0, 1). */
  readonly next: () => number;
  /** An integer in [0, n). */
  readonly int: (n: number) => number;
  readonly pick: <T>(items: readonly T[]) => T;
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean;
  readonly bytes: (n: number) => Uint8Array;
}

export function seededRandom(seed: number): SeededRandom {
  let s = seed | 0;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (items) => items[int(items.length)]!,
    chance: (p) => next() < p,
    bytes: (n) => Uint8Array.from({ length: n }, () => int(256)),
  };
}

/** The seed from `env[name]` when set (to reproduce a failure), else a fresh one. */
export function seedFromEnv(name: string, env: Record<string, string | undefined>): number {
  const given = env[name];
  return given ? Number(given) : Math.floor(Math.random() * 2 ** 31);
}
