/** A feedback item (SPEC §3.3): a support ticket, an NPS answer, an interview note, a request. */
export const FEEDBACK_KINDS = ['nps', 'ticket', 'interview', 'request', 'cancellation'] as const;
export type FeedbackKind = (typeof FEEDBACK_KINDS)[number];

export interface Feedback {
  id: string;
  kind: FeedbackKind;
  createdAt: Date;
  distinctId: string | null;
  email: string | null;
  organization: string | null;
  /** NPS: 0–10; other kinds: any number the source gives, or null. */
  score: number | null;
  /** Free text is untrusted: stored as-is, escaped wherever it is shown. */
  title: string | null;
  body: string | null;
  tags: string[];
  status: string | null;
  /** When a ticket was closed (an optional extra column, `closed_at`); null when open or unknown. */
  closedAt: Date | null;
}
