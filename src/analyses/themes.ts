/**
 * Themes in free-text feedback (cancellation reasons, tickets, feature requests), found in the
 * text itself (docs/analyses.md#themes). The text is untrusted input: it is only tokenized and
 * counted, returned as data, and quoted verbatim (escaping is the renderer's job).
 *
 * 1. Tags: an item with tags (other than `product:<name>` pins) belongs to each of its tags'
 *    themes, as written (lower-cased): a person's or a survey's choice beats a guess from text.
 * 2. Key phrases: every other text is read by wink-nlp with its English model (tokens, parts of
 *    speech, lemmas, stop words). Candidate phrases are runs of 1–3 words inside a sentence that
 *    start and end on a noun, proper noun, adjective or verb that is not a stop word (a stop word
 *    may sit inside: "lack of communication"), keyed by their lemmas, so "staff were helpful" and
 *    "staff was helpful" are one phrase. Each text counts once per phrase.
 * 3. Clusters: repeatedly, the phrase held by the most still-unassigned texts (weighted
 *    1 + ¼ per extra word, so "waiting time" beats "time" when nearly as common; ties by the
 *    lemma key) becomes a theme and takes every unassigned text holding it, while it is held by
 *    at least `minCount` texts and there are fewer than `maxThemes` themes.
 * 4. The rest is `other`.
 * Each theme: its name (the phrase's most common surface form, lower case), its count (texts in
 * the cluster), `mentions` (texts holding the phrase at all), the surface `forms` seen, and up to
 * three example quotes, shortest first, each containing one of the forms. Same input, same output.
 */
import { createRequire } from 'node:module';

export interface ThemeItem {
  text: string | null;
  tags?: readonly string[] | null;
}

export interface Theme {
  theme: string;
  /** How the theme was found: from tags, a key phrase of the text, or left over. */
  source: 'tag' | 'phrase' | 'other';
  /** Items in the theme (each item is in one phrase theme at most). */
  count: number;
  /** Phrase themes: items whose text holds the phrase, before clustering took some elsewhere. */
  mentions?: number;
  /** Phrase themes: the lemmas the phrase is keyed by. */
  lemma?: string;
  /** Phrase themes: the phrase as written in the texts (exact substrings), most common first. */
  forms?: string[];
  /** One of the theme's texts, verbatim (untrusted: escape when shown). */
  example: string | null;
  /** Up to three of the theme's texts, shortest first, verbatim. */
  examples: string[];
}

export interface ThemeOptions {
  /** Texts a phrase must be held by to become a theme (default 2). */
  minCount?: number;
  /** At most this many phrase themes (default 12). */
  maxThemes?: number;
}

export const OTHER_THEME = 'other';
const PRODUCT_TAG_PREFIX = 'product:';
const CONTENT = new Set(['NOUN', 'PROPN', 'ADJ', 'VERB']);
const MAX_WORDS = 3;
const EXAMPLES = 3;

interface Its {
  value: unknown;
  lemma: unknown;
  pos: unknown;
  stopWordFlag: unknown;
  precedingSpaces: unknown;
  type: unknown;
}
interface Tokens {
  out(f: unknown): unknown[];
}
interface Doc {
  sentences(): { each(f: (s: { tokens(): Tokens }) => void): void };
}
interface Nlp {
  readDoc(text: string): Doc;
  its: Its;
}

let nlp: Nlp | null = null;
/** wink-nlp with its English lite model (MIT), loaded once. */
function reader(): Nlp {
  if (nlp) return nlp;
  const require = createRequire(import.meta.url);
  const winkNLP = require('wink-nlp') as (model: unknown) => Nlp;
  nlp = winkNLP(require('wink-eng-lite-web-model'));
  return nlp;
}

interface Phrase {
  lemma: string;
  words: number;
  surface: string;
}

/** The candidate key phrases of one text (see the file comment), each once. */
export function keyPhrases(text: string): Phrase[] {
  const n = reader();
  const its = n.its;
  const out = new Map<string, Phrase>();
  n.readDoc(text)
    .sentences()
    .each((sentence) => {
      const t = sentence.tokens();
      const value = t.out(its.value) as string[];
      const lemma = (t.out(its.lemma) as string[]).map((l) => l.toLowerCase());
      const pos = t.out(its.pos) as string[];
      const stop = t.out(its.stopWordFlag) as boolean[];
      const spaces = t.out(its.precedingSpaces) as string[];
      const type = t.out(its.type) as string[];
      const isWord = (i: number): boolean => type[i] === 'word' && /\p{L}/u.test(value[i] ?? '');
      const edge = (i: number): boolean =>
        isWord(i) && !stop[i] && CONTENT.has(pos[i] ?? '') && (lemma[i] ?? '').length >= 3;
      for (let i = 0; i < value.length; i++) {
        if (!edge(i)) continue;
        for (let j = i; j < Math.min(value.length, i + MAX_WORDS); j++) {
          if (!isWord(j)) break;
          if (!edge(j)) continue;
          const key = lemma.slice(i, j + 1).join(' ');
          let surface = value[i] as string;
          for (let k = i + 1; k <= j; k++) surface += (spaces[k] ?? ' ') + (value[k] as string);
          if (!out.has(key)) out.set(key, { lemma: key, words: j - i + 1, surface });
        }
      }
    });
  return [...out.values()];
}

export function groupIntoThemes(items: readonly ThemeItem[], options: ThemeOptions = {}): Theme[] {
  const minCount = options.minCount ?? 2;
  const maxThemes = options.maxThemes ?? 12;
  const members = new Map<string, { source: Theme['source']; items: number[]; phrase?: string }>();
  const add = (theme: string, source: Theme['source'], i: number, phrase?: string): void => {
    const m = members.get(theme) ?? { source, items: [], ...(phrase ? { phrase } : {}) };
    if (!m.items.includes(i)) m.items.push(i);
    members.set(theme, m);
  };

  const untagged: number[] = [];
  items.forEach((item, i) => {
    const tags = (item.tags ?? [])
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t.length > 0 && !t.startsWith(PRODUCT_TAG_PREFIX));
    if (tags.length > 0) for (const t of tags) add(t, 'tag', i);
    else if (item.text && item.text.trim()) untagged.push(i);
  });

  // Phrases per text; surface forms per phrase with how often each was written.
  const phrasesOf = new Map<number, Set<string>>();
  const words = new Map<string, number>();
  const forms = new Map<string, Map<string, number>>();
  const holders = new Map<string, number[]>();
  for (const i of untagged) {
    const found = keyPhrases(items[i]?.text ?? '');
    phrasesOf.set(i, new Set(found.map((p) => p.lemma)));
    for (const p of found) {
      words.set(p.lemma, p.words);
      const f = forms.get(p.lemma) ?? new Map<string, number>();
      f.set(p.surface, (f.get(p.surface) ?? 0) + 1);
      forms.set(p.lemma, f);
      holders.set(p.lemma, [...(holders.get(p.lemma) ?? []), i]);
    }
  }

  let left = [...untagged];
  const phraseThemes: { name: string; lemma: string }[] = [];
  while (phraseThemes.length < maxThemes) {
    const df = new Map<string, number>();
    for (const i of left) for (const p of phrasesOf.get(i) ?? []) df.set(p, (df.get(p) ?? 0) + 1);
    const score = (p: string, n: number): number => n * (1 + 0.25 * ((words.get(p) ?? 1) - 1));
    const best = [...df]
      .filter(([, n]) => n >= minCount)
      .sort((a, b) => score(b[0], b[1]) - score(a[0], a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))[0];
    if (!best) break;
    const [lemma] = best;
    const name = mostCommon(forms.get(lemma) as Map<string, number>).toLowerCase();
    // Two phrases written the same way (rare: different lemmas) keep apart by their lemma.
    const key = members.has(name) ? `${name} (${lemma})` : name;
    phraseThemes.push({ name: key, lemma });
    for (const i of left) if (phrasesOf.get(i)?.has(lemma)) add(key, 'phrase', i, lemma);
    left = left.filter((i) => !phrasesOf.get(i)?.has(lemma));
  }
  for (const i of left) add(OTHER_THEME, 'other', i);

  return [...members]
    .map(([theme, m]): Theme => {
      const examples = pickExamples(items, m.items);
      const base: Theme = {
        theme,
        source: m.source,
        count: m.items.length,
        example: examples[0] ?? null,
        examples,
      };
      if (m.source !== 'phrase' || !m.phrase) return base;
      const f = forms.get(m.phrase) as Map<string, number>;
      return {
        ...base,
        mentions: holders.get(m.phrase)?.length ?? 0,
        lemma: m.phrase,
        forms: [...f].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([s]) => s),
      };
    })
    .sort(
      (a, b) =>
        Number(a.source === 'other') - Number(b.source === 'other') ||
        b.count - a.count ||
        (a.theme < b.theme ? -1 : a.theme > b.theme ? 1 : 0),
    );
}

function mostCommon(counts: Map<string, number>): string {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? '';
}

/** Up to three texts of the theme, shortest first (ties by input order), verbatim. */
function pickExamples(items: readonly ThemeItem[], members: number[]): string[] {
  return members
    .map((i) => ({ i, t: items[i]?.text?.trim() ?? '' }))
    .filter((x) => x.t.length > 0)
    .sort((a, b) => a.t.length - b.t.length || a.i - b.i)
    .slice(0, EXAMPLES)
    .map((x) => x.t);
}
