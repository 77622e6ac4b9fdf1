import { Type, type Static } from '@sinclair/typebox';

const Count = Type.Integer({ minimum: 0 });

/** Progress and result of one sweep, as stored in Redis and served by GET /api/v1/sweeps/latest. */
export const SweepStatusSchema = Type.Object(
  {
    id: Type.String(),
    trigger: Type.Union([Type.Literal('schedule'), Type.Literal('api')]),
    state: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
    startedAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    durationSeconds: Type.Union([Type.Number(), Type.Null()]),
    minAgeMinutes: Count,
    counts: Type.Object({
      /** Regular, whitelisted, non-hidden files walked past. */
      scanned: Count,
      young: Count,
      /** Old files looked up in the ledger. */
      old: Count,
      sent: Count,
      sent_no_record: Count,
      sent_other_version: Count,
      sent_stale: Count,
      recent_pending: Count,
      in_flight: Count,
      transferred: Count,
      skipped_special: Count,
      hidden: Count,
      unreadable_dirs: Count,
    }),
    oldestUntransferredAgeSeconds: Type.Union([Type.Number(), Type.Null()], {
      description: 'Age of the oldest walked file not known to be transferred; files younger than the threshold are not looked up, so below it this is an upper bound',
    }),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'SweepStatus', additionalProperties: false },
);
export type SweepStatus = Static<typeof SweepStatusSchema>;
export type SweepCounts = SweepStatus['counts'];

export function emptyCounts(): SweepCounts {
  return { scanned: 0, young: 0, old: 0, sent: 0, sent_no_record: 0, sent_other_version: 0, sent_stale: 0, recent_pending: 0, in_flight: 0, transferred: 0, skipped_special: 0, hidden: 0, unreadable_dirs: 0 };
}
