/** What `sextant init` writes: every key with its default and a comment. Parses to defaultConfig(). */
export const CONFIG_TEMPLATE = `# Sextant configuration (SPEC §4). Every key is optional; these are the defaults.
# An unknown key or a wrong type is an error naming the key.

# Per-product reviews; "all" (the whole company) always exists. Example:
#   - name: session-replay
#     events: ["recording_*", "$snapshot"]   # glob patterns of the product's events
#     stripeProducts: ["prod_ABC123"]        # Stripe product ids of its billing lines
products: []

activity:
  # Events that make a person or organization "active" (glob patterns).
  activeEvents: ["*"]
  excludeEvents: ["$feature_flag_called", "$identify", "$groupidentify", "survey sent"]

onboarding:
  # Event names in order; empty: inferred from new users' most common first events.
  steps: []
  windowDays: 14

# The product's key actions (event names), counted every month.
keyActions: []

# Organization-property rule for "high ICP": every condition must hold.
#   all: [{property: employees, op: ">=", value: 50}, {property: industry, op: in, value: [saas, fintech]}]
icp:
  all: []

# How many of the biggest customers (by MRR) the top-customers deep dive looks at.
topCustomers: 10

leadingIndicators:
  windowDays: [7, 14]      # "did X at least k times in the first d days"
  outcomeDays: [56, 90]    # ... predicts being active in this window
  maxThreshold: 10

billing:
  # Where a Stripe customer names its organization's group key; else the email_domain group property.
  link: metadata.group_key
  # When MRR starts for a billed period: "issued" (the invoice date, ChartMogul's default) or "paid".
  mrrFrom: issued
  # When a canceled subscription counts as churn: "period-end" (when the paid period ends) or "cancellation".
  churnAt: period-end

reporting:
  currency: USD
  # Units of reporting.currency per one unit of another currency, e.g. {EUR: 1.08, GBP: 1.27}.
  fx: {}

anomalies:
  # Each metric's month is tested against its trailing months with a test fitted to its data
  # (counts: Poisson; rates: binomial; NPS: z-test; money: robust median/MAD); a month is
  # anomalous when its Benjamini-Hochberg q-value across the month's metrics is at most this.
  falseDiscoveryRate: 0.05
  trailingMonths: 6
  # No longer used (kept so older configs load).
  threshold: 3.5

# What was shipped, for the review's "What we shipped" (also \`sextant launch add\`). E.g.
#   - title: New onboarding checklist
#     date: 2026-09-14
#     product: analytics                      # a configured product, or all
#     flag: onboarding-checklist              # optional: with a control variant, an experiment
#     metrics: ["project created", {event: "insight created", type: count}]
#     # unit: person (or organization, for a group flag); control: control; windowDays: 14
launches: []

# For \`sextant serve\`.
server:
  # The PostHog project key the capture API accepts (api_key / token) and the Stripe webhook
  # signing secret, e.g. projectKey: phc_...  stripeWebhookSecret: whsec_...;
  # captureLog: {dir, maxBytes} where acknowledged captures wait to be loaded (default beside the
  # store) and the size past which captures are answered 503 with Retry-After (default 512 MB).
  schedule:
    # Build the reviews of the month before automatically while \`sextant serve\` runs: on this
    # day of each month (1–28) at this time, UTC. A restart neither builds nor posts twice.
    enabled: false
    day: 1
    time: "06:00"
    products: []            # which reviews; empty: every product and all
  notify:
    # Post the scheduled review's summary to the Slack incoming webhook whose URL is in the
    # environment variable SEXTANT_SLACK_WEBHOOK_URL (a secret: never in this file).
    slack: false
    email:
      # E-mail it to these addresses through the SMTP server in SEXTANT_SMTP_URL
      # (smtp://user:password@host:587, or smtps:// for TLS from the start).
      to: []
      from: sextant@localhost
    # The web app's address as the team reaches it, for links in the summary, e.g.
    # link: https://sextant.example.com
`;
