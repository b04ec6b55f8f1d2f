import type { KryptosErrorCode } from "./types";

/** The `Error` every failure callback receives; `code` says what happened. */
export class KryptosConnectError extends Error {
  /** Machine-readable reason, e.g. `USER_CLOSED` or `ORIGIN_NOT_ALLOWED`. */
  readonly code: KryptosErrorCode;
  /** The underlying error, when there is one (e.g. what `generateLinkToken` threw). */
  readonly cause?: unknown;

  constructor(code: KryptosErrorCode, message?: string, cause?: unknown) {
    super(message || code);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "KryptosConnectError";
    this.code = code;
    if (cause !== undefined) this.cause = cause;
  }
}

/** Whether `value` is an Error that already carries a string `code`. */
export function hasCode(value: unknown): value is Error & { code: string } {
  return value instanceof Error && typeof (value as { code?: unknown }).code === "string";
}

/** `err` as a {@link KryptosConnectError}: errors with a code keep it, others get `fallback`. */
export function toConnectError(err: unknown, fallback: KryptosErrorCode, message: string): KryptosConnectError {
  if (err instanceof KryptosConnectError) return err;
  if (hasCode(err)) return new KryptosConnectError(err.code, err.message, err);
  const detail = err instanceof Error && err.message ? err.message : message;
  return new KryptosConnectError(fallback, detail, err);
}
