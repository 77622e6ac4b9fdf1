/** Headers a dead-lettered message carries, besides the broker's own x-death. */
export const DEAD_LETTER_HEADERS = {
  code: 'x-terra-error-code',
  detail: 'x-terra-error-detail',
  queue: 'x-terra-source-queue',
  at: 'x-terra-dead-lettered-at',
  /** A part of a delivery dead-lettered on its own (one file of a chunk): the id of the message it was part of. */
  partOf: 'x-terra-part-of',
} as const;
