import winston from 'winston';
import type { Writable } from 'node:stream';
import { defaultRedactor, type Redactor } from './redact.ts';

export type Logger = winston.Logger;
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'text' | 'auto';

export const logLevels: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** json for log collectors; text for people; auto picks text when the stream is a TTY. */
  readonly format?: LogFormat;
  /** Where lines go (default stderr, so stdout stays free for command output). */
  readonly stream?: Writable & { isTTY?: boolean };
  readonly redactor?: Redactor;
}

/**
 * Every field of every line passes through the redactor last-but-one, after errors have been
 * expanded into message and stack, and before anything is serialised, so no transport and no
 * format can see a secret.
 */
function redaction(redactor: Redactor): winston.Logform.Format {
  return winston.format((info) => {
    for (const key of Object.keys(info)) {
      if (key === 'level') continue;
      info[key] = redactor.value(info[key]);
    }
    return info;
  })();
}

/** Context first, in a fixed order, then anything else as key=value. */
function humanLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, kind, object, generation, reconcileID, stack, ...rest } = info;
  const context = [kind, object, generation !== undefined ? `gen=${String(generation)}` : undefined, reconcileID]
    .filter((part) => part !== undefined)
    .map(String)
    .join(' ');
  const extra = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return [String(timestamp), level.toUpperCase().padEnd(5), context && `[${context}]`, String(message), extra, stack ? `\n${String(stack)}` : '']
    .filter((part) => part !== '')
    .join(' ');
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const human = options.format === 'text' || (options.format !== 'json' && stream.isTTY === true);
  return winston.createLogger({
    level: options.level ?? 'info',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: winston.format.combine(
      winston.format.errors({ stack: true }),
      winston.format.timestamp(),
      redaction(options.redactor ?? defaultRedactor),
      human ? winston.format.printf(humanLine) : winston.format.json(),
    ),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** A logger that drops everything (library defaults, benchmarks). */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
