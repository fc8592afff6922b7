/** Exit codes, one meaning each. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_FAILURE = 2;

/**
 * An error the user can act on: bad input, an unreadable database, a refused operation.
 * Rendered as one line (`stowage: FILE:LINE:COL: message`) with exit code 2, never a stack trace.
 */
export class StowageError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly position?: { line: number; column?: number },
  ) {
    super(message);
    this.name = 'StowageError';
  }

  /** The one line shown to the user. */
  get line(): string {
    let where = '';
    if (this.file) {
      where = this.file;
      if (this.position) {
        where += `:${this.position.line}`;
        if (this.position.column !== undefined) where += `:${this.position.column}`;
      }
      where += ': ';
    }
    return `${where}${this.message}`;
  }
}

/** A file that could not be parsed or does not have the expected shape. */
export class InputError extends StowageError {
  constructor(file: string, message: string, position?: { line: number; column?: number }) {
    super(message, file, position);
    this.name = 'InputError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A system error's reason without the path node puts in its message (the caller names the file):
 * `EACCES: permission denied, open '/x'` -> `permission denied (EACCES)`.
 */
export function systemErrorReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (!(err instanceof Error) || typeof code !== 'string') return errorMessage(err).split('\n')[0] ?? '';
  // Node's own SystemErrors (ERR_FS_EISDIR...) put the path in their message; their `info` holds the reason alone.
  const info = (err as { info?: { code?: unknown; message?: unknown } }).info;
  if (typeof info?.message === 'string' && typeof info.code === 'string') return `${info.message} (${info.code})`;
  const described = /^[A-Z][A-Z0-9_]*: ([^,]+)/.exec(err.message)?.[1];
  return `${described ?? err.message.split('\n')[0]} (${code})`;
}
