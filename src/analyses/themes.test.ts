import { describe, expect, it } from 'vitest';
import { conceptOf, groupIntoThemes, tokenize } from './themes.js';

describe('themes', () => {
  it('normalizes text: lower case, accents removed, split on punctuation', () => {
    expect(tokenize('Trop CHÈR — prix/coût!')).toEqual(['trop', 'cher', 'prix', 'cout']);
  });

  it('maps known concepts in several wordings and languages to one theme', () => {
    expect(conceptOf('Too expensive for a team our size')).toBe('price');
    expect(conceptOf('Budget cuts, we cannot justify the cost')).toBe('price');
    expect(conceptOf('Zu teuer für uns')).toBe('price');
    expect(conceptOf('Switched to another vendor')).toBe('competitor');
    // one price word and one competitor word: the tie goes to the concept listed first (price)
    expect(conceptOf('Cheaper alternatives do what we need')).toBe('price');
    expect(conceptOf('zzz qqq')).toBeNull();
  });

  it('puts the planted theme first with its count and the shortest text as example', () => {
    const themes = groupIntoThemes([
      { text: 'Too expensive' },
      { text: 'Pricing does not fit a small startup' },
      { text: 'Cost too high relative to how much we use it' },
      { text: 'Moved to a competitor' },
      { text: 'Our dashboards keep timing out' },
      { text: 'Dashboards were wrong' },
      { text: 'Gibberish words nobody groups' }, // 'nobody' → not using
      { text: 'Lonely answer' },
      { text: null, tags: ['Onboarding', 'product:replay'] },
    ]);
    // price 3; dashboard: keyword shared by 2 (plural s stripped); competitor, not using, onboarding (tag) 1; other 1
    expect(themes.map((t) => [t.theme, t.source, t.count])).toEqual([
      ['price', 'concept', 3],
      ['dashboard', 'keyword', 2],
      ['competitor', 'concept', 1],
      ['not using', 'concept', 1],
      ['onboarding', 'tag', 1],
      ['other', 'other', 1],
    ]);
    expect(themes[0]?.example).toBe('Too expensive');
    expect(themes[5]?.example).toBe('Lonely answer');
  });

  it('treats hostile text as data and is deterministic', () => {
    const items = [
      { text: "'; DROP TABLE feedback; -- <script>alert(1)</script>" },
      { text: "'; DROP TABLE feedback; --" },
    ];
    const a = groupIntoThemes(items);
    expect(a).toEqual(groupIntoThemes(items));
    // shared keywords: drop, feedback, table → the alphabetically first with the same count wins
    expect(a[0]).toMatchObject({ theme: 'drop', count: 2, example: "'; DROP TABLE feedback; --" });
    expect(groupIntoThemes([])).toEqual([]);
  });
});
