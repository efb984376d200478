/**
 * mulberry32: a small seeded PRNG (the one ../shared/peers uses for priorities), so a run can
 * be repeated exactly and a failing seed reported. Returns numbers in [0, 1).
 */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
