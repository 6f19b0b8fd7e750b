/** Latency summary of a list of samples in milliseconds. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    median: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
  };
}

export const ms = (x: number) =>
  Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms` : "n/a";
export const fmt = (s: Summary) =>
  `median ${ms(s.median)}, p95 ${ms(s.p95)}, p99 ${ms(s.p99)} (n=${s.n})`;
export const ratio = (ours: number, theirs: number) => `${(theirs / ours).toFixed(1)}x`;

export const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Growth from `from` to `to` per 1,000 of what was done between them, in KiB. */
export const kibPer1000 = (from: number, to: number, done: number) =>
  (((to - from) / done) * 1000) / 1024;

/** Prints a markdown table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}
