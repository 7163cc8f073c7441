/**
 * Where the scheduled review's summary goes (docs/http.md#notifications): a Slack incoming
 * webhook and/or e-mail through an SMTP server (nodemailer). The secrets — the webhook's URL, the
 * SMTP URL with its password — come from the environment only, and never appear in a log line,
 * an error kept in the store, or a message (`redact`).
 */
import type { Config } from '../config/schema.js';
import type { Review } from '../domain/review.js';
import { InputError } from '../errors.js';
import { fiveLineSummary } from '../review/summary.js';
import type { Channel } from './schedule.js';

export const SLACK_ENV = 'SEXTANT_SLACK_WEBHOOK_URL';
export const SMTP_ENV = 'SEXTANT_SMTP_URL';

/** How long one delivery may take before it counts as failed. */
const TIMEOUT_MS = 15_000;

export interface Notifier {
  channel: Channel;
  /** Where it sends, in words without the secret (for logs). */
  describe: string;
  send(reviews: readonly Review[]): Promise<void>;
  /** `text` with every secret of this channel replaced. */
  redact(text: string): string;
}

export interface SummaryMessage {
  subject: string;
  /** Plain lines, as written (no markup). */
  lines: string[];
  /** Per review: its label and its page in the web app (when `link` is configured). */
  links: { label: string; url: string | null }[];
}

const productLabel = (p: string) => (p === 'all' ? 'the company' : p);

/**
 * The summary of a run: the company's five-line summary (or the first product's, when `all` is
 * not scheduled), and a link to every review built. Text from the data (customer names in a
 * highlight) is kept as written; each channel escapes it for its own format.
 */
export function summaryMessage(reviews: readonly Review[], link?: string): SummaryMessage {
  const main = reviews.find((r) => r.product === 'all') ?? reviews[0];
  if (!main) throw new Error('a summary needs at least one review');
  const base = link?.replace(/\/+$/, '');
  return {
    subject: `Growth review of ${main.month} is ready`,
    lines: [`Growth review of ${main.month}, ${productLabel(main.product)}:`, ...fiveLineSummary(main)],
    links: reviews.map((r) => ({
      label: `${productLabel(r.product)}, ${r.month}`,
      url: base ? `${base}/reviews/${encodeURIComponent(r.product)}/${encodeURIComponent(r.month)}` : null,
    })),
  };
}

/** Slack's mrkdwn escapes only these three; `<!channel>` in a customer's name must not ping anyone. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackText(m: SummaryMessage): string {
  const [head, ...rest] = m.lines;
  const links = m.links
    .filter((l) => l.url)
    .map((l) => `<${l.url!.replace(/[<>|]/g, encodeURIComponent)}|${slackEscape(l.label)}>`);
  return [
    `*${slackEscape(head ?? '')}*`,
    ...rest.map((l) => `• ${slackEscape(l)}`),
    ...(links.length ? [`Open: ${links.join(' · ')}`] : []),
  ].join('\n');
}

export function emailText(m: SummaryMessage): string {
  const links = m.links.filter((l) => l.url).map((l) => `  ${l.label}: ${l.url}`);
  return [...m.lines, ...(links.length ? ['', 'Open the reviews:', ...links] : []), ''].join('\n');
}

function redactor(secrets: readonly string[]): (text: string) => string {
  const parts = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => parts.reduce((t, s) => t.split(s).join('[secret]'), text);
}

/** The secret parts of a URL: itself, its password, its path and query (a webhook's token). */
function urlSecrets(url: string): string[] {
  const out = [url];
  try {
    const u = new URL(url);
    if (u.password) out.push(u.password, decodeURIComponent(u.password));
    if (u.pathname.length > 1) out.push(u.pathname);
    if (u.search) out.push(u.search);
  } catch {
    // Not a URL: the whole text is the secret.
  }
  return out;
}

export function slackNotifier(webhookUrl: string, link?: string): Notifier {
  const redact = redactor(urlSecrets(webhookUrl));
  const host = new URL(webhookUrl).host;
  return {
    channel: 'slack',
    describe: `the Slack webhook at ${host}`,
    redact,
    async send(reviews) {
      const res = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: slackText(summaryMessage(reviews, link)) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!res.ok) {
        const body = (await res.text()).slice(0, 200);
        throw new Error(`the webhook answered ${res.status}${body ? `: ${body}` : ''}`);
      }
    },
  };
}

export function emailNotifier(
  smtpUrl: string,
  mail: { to: readonly string[]; from: string },
  link?: string,
): Notifier {
  const redact = redactor(urlSecrets(smtpUrl));
  const u = new URL(smtpUrl);
  return {
    channel: 'email',
    describe: `${mail.to.join(', ')} through ${u.protocol}//${u.host}`,
    redact,
    async send(reviews) {
      const { createTransport } = await import('nodemailer');
      const transport = createTransport({
        url: smtpUrl,
        connectionTimeout: TIMEOUT_MS,
        greetingTimeout: TIMEOUT_MS,
        socketTimeout: TIMEOUT_MS,
      });
      try {
        const m = summaryMessage(reviews, link);
        await transport.sendMail({
          from: mail.from,
          to: [...mail.to],
          subject: m.subject,
          text: emailText(m),
        });
      } finally {
        transport.close();
      }
    },
  };
}

/**
 * The notifiers the config asks for, with their secrets from `env`. A channel switched on whose
 * secret is missing or malformed is an `InputError` naming the variable (the server does not start).
 */
export function configuredNotifiers(config: Config, env: NodeJS.ProcessEnv = process.env): Notifier[] {
  const n = config.server.notify;
  const out: Notifier[] = [];
  const url = (name: string, protocols: RegExp, field: string): string => {
    const v = env[name]?.trim();
    if (!v) throw new InputError(`${field} is on but ${name} is not set`, { field });
    let ok = false;
    try {
      ok = protocols.test(new URL(v).protocol);
    } catch {
      ok = false;
    }
    // Never echo the value: it is the secret.
    if (!ok) throw new InputError(`${name} is not a ${protocols.source} URL`, { field });
    return v;
  };
  if (n.slack) out.push(slackNotifier(url(SLACK_ENV, /^https?:$/, 'server.notify.slack'), n.link));
  if (n.email.to.length) {
    out.push(emailNotifier(url(SMTP_ENV, /^smtps?:$/, 'server.notify.email.to'), n.email, n.link));
  }
  return out;
}
