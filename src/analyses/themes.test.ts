import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { groupIntoThemes, keyPhrases, OTHER_THEME } from './themes.js';

const FFT = new URL('../../test/fixtures/real/nhs-fft-feedback/fft-answers-800.csv', import.meta.url);

describe('themes: key phrases found in the text (wink-nlp, lemmatised)', () => {
  it('keys phrases by lemma, keeps the written form, and skips stop words at the edges', () => {
    const a = keyPhrases('The staff were very helpful.').map((p) => p.lemma);
    expect(a).toContain('staff');
    expect(a).toContain('helpful');
    expect(a).not.toContain('the');
    const waiting = keyPhrases('Waiting times were too long').find((p) => p.lemma === 'wait time');
    expect(waiting).toMatchObject({ words: 2, surface: 'Waiting times' });
  });

  it('tags first, then phrase clusters with counts and quotes, the rest other', () => {
    const themes = groupIntoThemes([
      { text: 'Friendly staff, thank you' },
      { text: 'Very friendly staff' },
      { text: 'The friendly staff helped a lot' },
      { text: 'Parking was hard' },
      { text: 'zzz' },
      { text: null, tags: ['Onboarding', 'product:replay'] },
    ]);
    expect(themes[0]).toMatchObject({ theme: 'friendly staff', source: 'phrase', count: 3, mentions: 3 });
    expect(themes[0]!.forms).toEqual(['friendly staff', 'Friendly staff']);
    expect(themes[0]!.examples).toEqual([
      'Very friendly staff',
      'Friendly staff, thank you',
      'The friendly staff helped a lot',
    ]);
    expect(themes.find((t) => t.source === 'tag')).toMatchObject({ theme: 'onboarding', count: 1 });
    expect(themes.at(-1)).toMatchObject({
      theme: OTHER_THEME,
      count: 2,
      examples: ['zzz', 'Parking was hard'],
    });
  });

  it('is deterministic', () => {
    const items = [{ text: 'b c d' }, { text: 'Friendly staff' }, { text: 'friendly staff!' }];
    expect(groupIntoThemes(items)).toEqual(groupIntoThemes(items));
  });
});

describe('themes on real patient feedback (NHS Friends & Family Test, 800 answers)', () => {
  const rows = parse<{ answer: string }>(readFileSync(FFT), { columns: true, bom: true });
  const texts = rows.map((r) => r.answer);
  const themes = groupIntoThemes(
    texts.map((text) => ({ text })),
    { minCount: 10 },
  );
  const phraseThemes = themes.filter((t) => t.source === 'phrase');
  const holds = (text: string, forms: readonly string[]): boolean => {
    const lower = text.toLowerCase();
    return forms.some((f) =>
      new RegExp(`(^|[^\\p{L}])${escape(f.toLowerCase())}($|[^\\p{L}])`, 'u').test(lower),
    );
  };

  it('finds recurring phrases of the text', () => {
    expect(texts).toHaveLength(800);
    expect(phraseThemes.length).toBeGreaterThanOrEqual(5);
    // The patients' own words, not a lexicon: staff and the ambulance service come up.
    expect(phraseThemes.map((t) => t.theme).join(' ')).toMatch(/staff/);
    // Every theme and every count is accounted for: each answer is in exactly one theme.
    expect(themes.reduce((s, t) => s + t.count, 0)).toBe(800);
  });

  it('each theme’s mentions are the answers holding its phrase, recounted one answer at a time', () => {
    const perText = texts.map((x) => new Set(keyPhrases(x).map((p) => p.lemma)));
    for (const t of phraseThemes) {
      expect(t.mentions, t.theme).toBe(perText.filter((set) => set.has(t.lemma!)).length);
      // Every answer holding the phrase contains one of its written forms (a plain text search
      // finds at least as many: it also sees the word used otherwise, e.g. "good" in "good bye").
      expect(t.mentions).toBeLessThanOrEqual(texts.filter((x) => holds(x, t.forms!)).length);
      expect(t.count).toBeLessThanOrEqual(t.mentions!);
      expect(t.count).toBeGreaterThanOrEqual(10);
    }
  });

  it('quotes are verbatim answers that contain the phrase', () => {
    for (const t of phraseThemes) {
      expect(t.examples.length).toBeGreaterThan(0);
      for (const q of t.examples) {
        expect(texts.map((x) => x.trim())).toContain(q);
        expect(holds(q, t.forms!), `${t.theme}: ${q}`).toBe(true);
      }
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
