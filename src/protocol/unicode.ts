/**
 * A `\\u` escape in the surrogate range, somewhere in the frame: the cheap
 * test that decides whether the parsed message needs holdsLoneSurrogate (frames
 * are UTF-8, so only an escape can make a lone surrogate).
 */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** A UTF-16 surrogate that is not half of a pair (in a `u` regex, a pair is one code point). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Whether any string of a parsed message, key or value, holds a lone
 * surrogate. Such a string is valid JSON but no text: Redis's JSON decoder
 * (cjson) refuses its escape, so an op carrying one would stop its
 * document's queue; it is refused at the door instead.
 */
export function holdsLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(holdsLoneSurrogate);
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key) || holdsLoneSurrogate(inner)) return true;
    }
  }
  return false;
}

/** Whether the frame's text has a surrogate escape at all: the cheap test before the walk. */
export function mayHoldLoneSurrogate(text: string): boolean {
  return SURROGATE_ESCAPE.test(text);
}
