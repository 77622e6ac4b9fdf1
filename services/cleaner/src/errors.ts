/**
 * The cleaner's error codes: each one is a refusal to delete, thrown as a
 * PermanentError so the event is dead-lettered with the code in
 * x-terra-error-code (the file stays in the cache; an operator decides).
 * Anything else a handler throws is transient and retried.
 *
 * Read by nothing at run time yet: the meanings move into the one error catalogue
 * in packages/platform (issue 17), which docs/errors.md will be generated from.
 * @public
 */
export const CLEANER_ERRORS = {
  UNVERIFIED_TRANSFER: 'file.transferred carries no verified checksum (null): never deleted, never re-sent automatically',
  UNSAFE_PATH: 'the path is outside the cache root lexically (.., ., empty components) or through a symlinked directory',
  NOT_A_REGULAR_FILE: 'the cache path is a symlink, directory, FIFO or device: never deleted, never followed',
  CHECKSUM_MISMATCH: 'VERIFY_LOCAL_CHECKSUM: the local digest differs from the one Globus verified (or cannot be computed)',
} as const;

export type CleanerErrorCode = keyof typeof CLEANER_ERRORS;
