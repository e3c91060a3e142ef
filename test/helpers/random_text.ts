/** Random text for tokenizer property tests: ASCII words, accents, CJK, emoji, ZWJ sequences,
 * control characters, newlines, unusual spaces and (rarely) lone surrogates. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

const PIECES = [
  'the', ' The', 'hello', ' world', "'s", "'LL", "don't", ' ', '  ', '\t', '\n', '\r\n', '\n\n', ' \n ',
  '123', '4567890', '٣٤', '½', 'é', 'ñandú', 'Ωμέγα', 'Привет', '你好世界', '日本語', '한국어', 'ﬁ',
  '🤖', '👨‍👩‍👧', '🏳️‍🌈', '👍🏽', '\u200d', '\u0301', '\u00a0', '\u3000', '\u2028', '\ufeff', '\u0085',
  '\u0000', '\u0007', '\u001b[0m', '!', '?!', '...', '—', '«»', '$', '(', ')', '<|endoftext|>', '"', '#', '\\',
];

/** A random string made of `parts` pieces. */
export function randomText(rng: Rng, parts: number): string {
  let s = '';
  for (let i = 0; i < parts; i++) {
    const r = rng.below(100);
    if (r < 2) s += String.fromCharCode(0xd800 + rng.below(0x800)); // lone surrogate
    else if (r < 6) s += String.fromCodePoint(0x20 + rng.below(0x2ffff - 0x20)).replace(/[\ud800-\udfff]/gu, 'x');
    else s += rng.pick(PIECES);
  }
  return s;
}
