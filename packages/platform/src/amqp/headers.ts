/** Headers a dead-lettered message carries, besides the broker's own x-death. */
export const DEAD_LETTER_HEADERS = {
  code: 'x-terra-error-code',
  detail: 'x-terra-error-detail',
  queue: 'x-terra-source-queue',
  at: 'x-terra-dead-lettered-at',
} as const;
