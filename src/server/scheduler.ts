/**
 * The timer behind the monthly schedule (app/schedule.ts): checks at start, at the instant the
 * next run is due, and at least hourly (to retry a failed build or summary, and to follow the
 * wall clock across a suspend). What to do is decided by `runSchedule` from the clock and the
 * store's ledger; this file only decides when to ask.
 */
import type { AppContext } from '../app/context.js';
import type { Notifier } from '../app/notify.js';
import { nextDue, runSchedule, type ScheduleOutcome } from '../app/schedule.js';

/** The longest wait between two checks. */
export const CHECK_EVERY_MS = 3_600_000;

export interface Scheduler {
  /** One check now (what the timer runs); resolves when it is done. */
  check(): Promise<ScheduleOutcome | null>;
  /** Checks now and then on the timer, until `stop()`. */
  start(): void;
  /** No more checks; waits for one in progress (so the store is not closed under a build). */
  stop(): Promise<void>;
}

export function createScheduler(ctx: AppContext, notifiers: readonly Notifier[]): Scheduler {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ScheduleOutcome | null> | undefined;
  let stopped = false;

  const check = (): Promise<ScheduleOutcome | null> => {
    // Never two checks at once: the second would see the first's run as started, not built.
    running ??= runSchedule(ctx, { notifiers })
      .catch((e: unknown) => {
        ctx.log(`schedule: check failed: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      })
      .finally(() => (running = undefined));
    return running;
  };

  const arm = () => {
    if (stopped) return;
    const wait = nextDue(ctx.now(), ctx.config.server.schedule).getTime() - ctx.now().getTime();
    timer = setTimeout(
      () => {
        void check().then(arm);
      },
      Math.max(1_000, Math.min(wait, CHECK_EVERY_MS)),
    );
    // The schedule alone never keeps the process alive.
    timer.unref();
  };

  return {
    check,
    start() {
      if (!ctx.config.server.schedule.enabled) return;
      void check().then((o) => {
        // Says once that the schedule is alive, and what it found (a restart: nothing to redo).
        const next = nextDue(ctx.now(), ctx.config.server.schedule)
          .toISOString()
          .slice(0, 16)
          .replace('T', ' ');
        const done = o?.due && o.built.length + o.failed.length + o.sent.length + o.unsent.length === 0;
        ctx.log(`schedule: ${done ? `nothing left to do for ${o.due!.month}; ` : ''}next run ${next} UTC`);
        arm();
      });
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
