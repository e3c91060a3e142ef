/**
 * One error class for the whole package. Every error tokenfilter raises on purpose carries a
 * stable `code`; callers branch on the code, never on the message text (which may change).
 * docs/errors.md lists the codes and the CLI's exit code for each.
 * @module
 */

/** The stable codes. Adding one is fine; renaming or removing one is a breaking change. */
export const ERROR_CODES = {
  /** An option or argument is missing, misspelled, of the wrong type, empty or out of range. */
  E_OPTION: 'E_OPTION',
  /** An input file is malformed, truncated, corrupt or hostile (bad magic, sizes, checksum, JSON). */
  E_FILE_FORMAT: 'E_FILE_FORMAT',
  /** Two artifacts were made with different tokenizers (hash, vocabulary or special ids). */
  E_TOKENIZER_MISMATCH: 'E_TOKENIZER_MISMATCH',
  /** Two inputs that must pair up do not (token counts, shapes, shard names). */
  E_MISMATCH: 'E_MISMATCH',
  /** A value that must be finite is NaN or infinite (input data, loss, parameters). */
  E_NOT_FINITE: 'E_NOT_FINITE',
  /** The work was cancelled through its AbortSignal. */
  E_ABORTED: 'E_ABORTED',
  /** An output path would write over one of the inputs, or is not a place output can go. */
  E_OUTPUT_PATH: 'E_OUTPUT_PATH',
  /** A file or folder cannot be read or written (missing, permission, not a directory, loop). */
  E_IO: 'E_IO',
  /** A size beyond what the package accepts (model config, thread count, header). */
  E_TOO_LARGE: 'E_TOO_LARGE',
  /** An object is used in a state that does not allow it (closed file, busy model). */
  E_STATE: 'E_STATE',
  /** A device was asked for that cannot be used (no CUDA binary, driver or device), or it failed. */
  E_DEVICE: 'E_DEVICE',
  /** The native core failed for a reason not covered above (out of memory, thread start-up). */
  E_NATIVE: 'E_NATIVE',
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes that mean "the caller's input is wrong" (CLI exit code 2); the rest are failures (1). */
export const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'E_OPTION',
  'E_FILE_FORMAT',
  'E_TOKENIZER_MISMATCH',
  'E_MISMATCH',
  'E_NOT_FINITE',
  'E_OUTPUT_PATH',
  'E_TOO_LARGE',
]);

/** The error every deliberate failure in tokenfilter is (or derives from). */
export class TokenfilterError extends Error {
  /** The stable code: branch on this. */
  readonly code: ErrorCode;
  /** The file the error is about, when there is one. */
  readonly path?: string;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; path?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokenfilterError';
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
  }
}

/**
 * A TypeError with a stable `code` (E_OPTION unless given another): an argument of the wrong
 * type, found by a TypeScript check before any work starts. It stays a TypeError (`instanceof`,
 * `name`), the shape the addon's own argument checks give (js_error.cc).
 */
export class CodedTypeError extends TypeError {
  /** The stable code: branch on this. */
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode = 'E_OPTION', options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TypeError';
    this.code = code;
  }
}

/**
 * A RangeError with a stable `code` (E_OPTION unless given another): an argument out of range,
 * empty, or inconsistent with another, found before any work starts. It stays a RangeError.
 */
export class CodedRangeError extends RangeError {
  /** The stable code: branch on this. */
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode = 'E_OPTION', options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RangeError';
    this.code = code;
  }
}

/** Whether `error` is a TokenfilterError, optionally with the given code. */
export function isTokenfilterError(error: unknown, code?: ErrorCode): error is TokenfilterError {
  return error instanceof TokenfilterError && (code === undefined || error.code === code);
}

/** The code of any thrown value: its own `code` when it has a known one, else undefined. */
export function errorCode(error: unknown): ErrorCode | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code in ERROR_CODES ? (code as ErrorCode) : undefined;
}
