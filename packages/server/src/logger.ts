import { pino, type Logger } from "pino";

/** `json`: one JSON object a line (for log collectors); `pretty`: coloured lines for a person. */
export type LogFormat = "json" | "pretty";

/** JSON unless a person is watching: a terminal gets readable lines (pino-pretty) by default. */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return stream.isTTY ? "pretty" : "json";
}

export function createLogger(level = "info", format: LogFormat = "json"): Logger {
  if (format === "json") return pino({ level });
  return pino({
    level,
    transport: {
      target: "pino-pretty",
      options: { translateTime: "HH:MM:ss.l", ignore: "pid,hostname", singleLine: true },
    },
  });
}
