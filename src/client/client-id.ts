import { CLIENT_ID_PATTERN } from '../protocol/limits';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/**
 * A random client id of 21 characters from the 64 allowed ones (126 bits),
 * from the Web Crypto API that both Node 20 and browsers provide.
 */
export function generateClientId(length = 21): string {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  let id = '';
  // 64 symbols divide 256 evenly, so `& 63` keeps the distribution uniform.
  for (const byte of bytes) id += ALPHABET[byte & 63];
  return id;
}

export function isValidClientId(id: string): boolean {
  return CLIENT_ID_PATTERN.test(id);
}
