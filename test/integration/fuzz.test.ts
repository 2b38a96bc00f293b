import { describe, expect, it } from 'vitest';
import { fuzzDrill } from '../../drills/fuzz.ts';

// The fuzz drill at a size that fits the test run (`npm run drill -- fuzz` runs a million cases).
describe('fuzz: generated hostile input at every parser and boundary', () => {
  it('crashes nothing, hangs nothing, and loses no good reading among the bad ones', async () => {
    const r = await fuzzDrill({ cases: 10_000 });
    expect(r.first_crashes).toEqual([]);
    expect(r).toMatchObject({ crashes: 0, hangs: 0 });
    expect(r.good_sent).toBeGreaterThan(0);
    expect(r.good_stored).toBe(r.good_sent);
    expect(r.cases).toBeGreaterThanOrEqual(9_900);
  });
});
