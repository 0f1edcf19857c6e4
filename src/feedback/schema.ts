import { z } from 'zod';
import type { FeedbackEntry } from '../storage/index.js';

/** One request carries at most this many entries; EHRs batch, but not without bound. */
export const MAX_FEEDBACK_ENTRIES = 500;

const id = z.string().min(1).max(200);

const coding = z.looseObject({
  system: z.string().min(1).max(500).optional(),
  code: z.string().min(1).max(200),
  display: z.string().max(500).optional(),
});

const overrideReason = z
  .looseObject({
    reason: coding.optional(),
    userComment: z.string().min(1).max(4000).optional(),
  })
  // cds-fb-3: an overrideReason with neither a reason nor a comment says nothing.
  .refine((o) => o.reason !== undefined || o.userComment !== undefined, {
    message: 'overrideReason must have a reason (Coding) or a userComment',
  });

/** CDS Hooks 2.0 §Feedback entry (checklist §5). Unknown fields are tolerated and not stored. */
export const FeedbackEntrySchema = z
  .looseObject({
    card: id,
    outcome: z.enum(['accepted', 'overridden']),
    acceptedSuggestions: z.array(z.looseObject({ id })).min(1).max(100).optional(),
    overrideReason: overrideReason.optional(),
    outcomeTimestamp: z.iso.datetime({ offset: true }),
  })
  .superRefine((entry, ctx) => {
    if (entry.outcome === 'accepted' && entry.acceptedSuggestions === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['acceptedSuggestions'],
        message: 'acceptedSuggestions is required when the outcome is accepted (one or more {"id": suggestion uuid})',
      });
    }
  });

export const FeedbackRequestSchema = z.looseObject({
  feedback: z.array(FeedbackEntrySchema).max(MAX_FEEDBACK_ENTRIES),
});

/** Keeps only what the store records (the schema lets unknown fields through). */
export function toFeedbackEntry(e: z.infer<typeof FeedbackEntrySchema>): FeedbackEntry {
  return {
    card: e.card,
    outcome: e.outcome,
    ...(e.acceptedSuggestions ? { acceptedSuggestions: e.acceptedSuggestions.map((s) => ({ id: s.id })) } : {}),
    ...(e.overrideReason
      ? {
          overrideReason: {
            ...(e.overrideReason.reason
              ? {
                  reason: {
                    code: e.overrideReason.reason.code,
                    ...(e.overrideReason.reason.system ? { system: e.overrideReason.reason.system } : {}),
                    ...(e.overrideReason.reason.display ? { display: e.overrideReason.reason.display } : {}),
                  },
                }
              : {}),
            ...(e.overrideReason.userComment ? { userComment: e.overrideReason.userComment } : {}),
          },
        }
      : {}),
    outcomeTimestamp: e.outcomeTimestamp,
  };
}
