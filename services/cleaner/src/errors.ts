import type { GiveUpCode } from '@terra-transfer/platform';

/**
 * The cleaner's refusals to delete: each one is thrown as a PermanentError so
 * the event is dead-lettered with the code in x-terra-error-code (the file
 * stays in the cache; an operator decides). Anything else a handler throws is
 * transient and retried. Their meanings are in the one catalogue,
 * packages/platform/src/error-codes.ts (docs/errors.md).
 */
export type CleanerErrorCode = Extract<GiveUpCode, 'UNVERIFIED_TRANSFER' | 'UNSAFE_PATH' | 'NOT_A_REGULAR_FILE' | 'CHECKSUM_MISMATCH'>;
