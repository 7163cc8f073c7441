/**
 * Grouping short free-text answers (cancellation reasons, feedback) into themes, deterministically
 * (docs/analyses.md#themes). The text is untrusted input: it is only ever tokenized and counted,
 * returned as data, and quoted verbatim (escaping is the renderer's job).
 *
 * Method, in order, for each item:
 * 1. Tags: an item with tags (other than `product:<name>` pins) belongs to each of its tags' themes,
 *    as written (lower-cased). Tagging by a person beats any guess from the text.
 * 2. Known concepts: the text is normalized (lower case, accents removed, split on anything that is
 *    not a letter or digit) and matched against CONCEPTS, a small fixed lexicon of the reasons
 *    SaaS customers commonly give, each a list of word prefixes in English and a few other
 *    languages (`pric` matches price, pricing, prices). The concept with the most matching tokens
 *    wins; ties go to the concept listed first.
 * 3. Keyword clusters: the remaining items' tokens, with stop words and tokens under 3 characters
 *    removed and a plural `s` stripped, are counted by how many items hold them. Repeatedly, the
 *    token held by the most still-unassigned items (at least 2; ties alphabetical) becomes a
 *    theme and takes every unassigned item holding it.
 * 4. Whatever is left is `other`.
 * Themes are returned largest first (ties by name), each with its count and one example: the
 * shortest non-empty text of the theme (ties by input order), so the same input always gives the
 * same output.
 */
import { compareText } from '../domain/order.js';

export interface ThemeItem {
  text: string | null;
  tags?: readonly string[] | null;
}

export interface Theme {
  theme: string;
  /** How the theme was found: from tags, the concept lexicon, a shared keyword, or left over. */
  source: 'tag' | 'concept' | 'keyword' | 'other';
  count: number;
  /** One of the theme's texts, verbatim (untrusted: escape when shown). */
  example: string | null;
}

export const OTHER_THEME = 'other';
const PRODUCT_TAG_PREFIX = 'product:';

/** Concept → word prefixes (normalized: lower case, no accents). Order breaks ties. */
export const CONCEPTS: readonly { theme: string; prefixes: readonly string[] }[] = [
  {
    theme: 'price',
    prefixes: [
      'pric',
      'cost',
      'expens',
      'cheap',
      'budget',
      'afford',
      'money',
      'pay',
      'invoice',
      'billing',
      'prix',
      'cher',
      'preis',
      'teuer',
      'kosten',
      'precio',
      'caro',
      'costo',
      'prezzo',
      'preco',
    ],
  },
  {
    theme: 'missing features',
    prefixes: ['missing', 'lack', 'feature', 'integrat', 'sso', 'export', 'fonction', 'funktion', 'falta'],
  },
  {
    theme: 'competitor',
    prefixes: [
      'competitor',
      'alternativ',
      'switch',
      'vendor',
      'migrat',
      'moved',
      'concurren',
      'konkurren',
      'competencia',
    ],
  },
  {
    theme: 'not using',
    prefixes: ['nobody', 'usage', 'unused', 'value', 'adoption', 'utilis', 'nutz'],
  },
  {
    theme: 'shutting down',
    prefixes: ['shut', 'closing', 'bankrupt', 'discontinu', 'acquired', 'layoff', 'fermeture', 'insolven'],
  },
  {
    theme: 'bugs and reliability',
    prefixes: [
      'bug',
      'crash',
      'slow',
      'outage',
      'downtime',
      'broken',
      'error',
      'unreliab',
      'reliab',
      'fehler',
    ],
  },
  { theme: 'support', prefixes: ['support', 'response', 'help'] },
  { theme: 'ease of use', prefixes: ['complicat', 'confus', 'difficult', 'hard', 'usabil', 'complex'] },
];

/** Common function words (English and a few other languages); never a theme by themselves. */
const STOP_WORDS = new Set(
  (
    'the and for with that this these those from into about over under than then there here what which ' +
    'who whom when where why how are was were been being have has had having does did doing will would ' +
    'could should can cannot may might must shall not nor any all some each every more most much many ' +
    'our ours your yours their theirs its his her him she they them you out off very just also only too ' +
    'any one two use using used get got team company anymore any more really still because since while ' +
    'les des une pour avec dans par sur est pas que qui nous vous ils elle sont der die das und mit ' +
    'fur von ist nicht wir ihr sie ein eine los las con por para una que del nos'
  ).split(' '),
);

/** Lower case, accents removed, split on anything that is not a letter or digit. */
export function tokenize(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

function keywords(text: string): string[] {
  const out = new Set<string>();
  for (const t of tokenize(text)) {
    if (t.length < 3 || STOP_WORDS.has(t) || /^\d+$/.test(t)) continue;
    out.add(t.length > 3 && t.endsWith('s') && !t.endsWith('ss') ? t.slice(0, -1) : t);
  }
  return [...out].sort();
}

/** The concept the text is about, or null when no concept word appears. */
export function conceptOf(text: string): string | null {
  const tokens = tokenize(text);
  let best: { theme: string; hits: number } | null = null;
  for (const c of CONCEPTS) {
    const hits = tokens.filter((t) => c.prefixes.some((p) => t.startsWith(p))).length;
    if (hits > 0 && (best === null || hits > best.hits)) best = { theme: c.theme, hits };
  }
  return best?.theme ?? null;
}

export function groupIntoThemes(items: readonly ThemeItem[]): Theme[] {
  const members = new Map<string, { source: Theme['source']; items: number[] }>();
  const add = (theme: string, source: Theme['source'], i: number): void => {
    const m = members.get(theme) ?? { source, items: [] };
    if (!m.items.includes(i)) m.items.push(i);
    members.set(theme, m);
  };

  const untagged: number[] = [];
  items.forEach((item, i) => {
    const tags = (item.tags ?? [])
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t.length > 0 && !t.startsWith(PRODUCT_TAG_PREFIX));
    if (tags.length > 0) for (const t of tags) add(t, 'tag', i);
    else untagged.push(i);
  });

  const unmatched: number[] = [];
  for (const i of untagged) {
    const concept = conceptOf(items[i]?.text ?? '');
    if (concept) add(concept, 'concept', i);
    else unmatched.push(i);
  }

  const tokens = new Map(unmatched.map((i) => [i, keywords(items[i]?.text ?? '')]));
  let left = [...unmatched];
  for (;;) {
    const df = new Map<string, number>();
    for (const i of left) for (const t of tokens.get(i) ?? []) df.set(t, (df.get(t) ?? 0) + 1);
    const top = [...df].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]))[0];
    if (!top || top[1] < 2) break;
    const [word] = top;
    for (const i of left) if (tokens.get(i)?.includes(word)) add(word, 'keyword', i);
    left = left.filter((i) => !tokens.get(i)?.includes(word));
  }
  for (const i of left) add(OTHER_THEME, 'other', i);

  return [...members]
    .map(([theme, m]) => ({
      theme,
      source: m.source,
      count: m.items.length,
      example: example(items, m.items),
    }))
    .sort(
      (a, b) =>
        Number(a.source === 'other') - Number(b.source === 'other') ||
        b.count - a.count ||
        compareText(a.theme, b.theme),
    );
}

function example(items: readonly ThemeItem[], members: number[]): string | null {
  let best: string | null = null;
  for (const i of members) {
    const t = items[i]?.text?.trim();
    if (t && (best === null || t.length < best.length)) best = t;
  }
  return best;
}
