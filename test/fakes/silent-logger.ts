import type { Logger } from '../../src/core/ports.js';

/** One recorded log line. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  bindings: Record<string, string | number>;
  obj: object;
  msg: string | undefined;
}

/** A Logger that prints nothing; pass an array to record the lines (children share it). */
export class SilentLogger implements Logger {
  constructor(
    readonly lines?: LogLine[],
    private readonly bindings: Record<string, string | number> = {},
  ) {}

  debug(obj: object, msg?: string): void {
    this.lines?.push({ level: 'debug', bindings: this.bindings, obj, msg });
  }

  info(obj: object, msg?: string): void {
    this.lines?.push({ level: 'info', bindings: this.bindings, obj, msg });
  }

  warn(obj: object, msg?: string): void {
    this.lines?.push({ level: 'warn', bindings: this.bindings, obj, msg });
  }

  error(obj: object, msg?: string): void {
    this.lines?.push({ level: 'error', bindings: this.bindings, obj, msg });
  }

  child(bindings: Record<string, string | number>): Logger {
    return new SilentLogger(this.lines, { ...this.bindings, ...bindings });
  }
}
