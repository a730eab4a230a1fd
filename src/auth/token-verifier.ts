import { jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { ProtocolError, DOC_ID_PATTERN } from '../protocol';
import type { Grants } from '../realtime/grants';

export interface VerifiedIdentity {
  user: string | null;
  grants: Grants;
  /** When the token stops (ms since the epoch, its `exp`); null when auth is off. */
  expiresAt: number | null;
}

/** The longest `sub` accepted: it is shown to every other member in presence. */
export const MAX_SUB_LENGTH = 256;

/**
 * The longest token accepted, bytes. Tokens travel in the upgrade's URL (or an
 * Authorization header), where the HTTP parser of the gateway keeps the whole
 * request in memory and resets requests of about 128 KiB and more without an
 * answer: a cap well below that answers with a reason instead, and bounds the
 * work a stranger can make the server do before the signature is checked.
 */
export const MAX_TOKEN_BYTES = 8192;

const SUB_RULE = `the token's "sub" must be a non-empty string of at most ${MAX_SUB_LENGTH} characters`;

const unauthorized = (message: string) => new ProtocolError('UNAUTHORIZED', message);

/**
 * Verifies HS256 tokens of PROTOCOL.md section 7. With no secret, auth is off
 * and everyone may write everything. The token itself is never logged.
 *
 * During a rotation of AUTH_JWT_SECRET a second, previous secret is
 * accepted too, so that tokens issued before the switch keep working until
 * they expire.
 */
export class TokenVerifier {
  private readonly keys: Uint8Array[];

  constructor(secret: string, previousSecret = '') {
    const encode = (s: string) => new TextEncoder().encode(s);
    this.keys = secret === '' ? [] : [encode(secret)];
    if (secret !== '' && previousSecret !== '') this.keys.push(encode(previousSecret));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  async verify(token: string | null): Promise<VerifiedIdentity> {
    if (!this.enabled) return { user: null, grants: null, expiresAt: null };
    if (!token) throw unauthorized('a token is required: connect with ?token=<JWT>');
    if (token.length > MAX_TOKEN_BYTES) {
      throw unauthorized(
        `the token is ${token.length} bytes; tokens of at most ${MAX_TOKEN_BYTES} bytes are accepted: keep its claims short (a "docs" pattern such as "team-*" instead of a long list)`,
      );
    }
    const payload = await this.verifiedPayload(token);
    const { sub } = payload;
    if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUB_LENGTH) {
      throw unauthorized(SUB_RULE);
    }
    return {
      user: sub,
      grants: grantsOf(payload.docs),
      expiresAt: Number(payload.exp) * 1000,
    };
  }

  private async verifiedPayload(token: string): Promise<JWTPayload> {
    for (const [index, key] of this.keys.entries()) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          requiredClaims: ['sub', 'exp'],
        });
        return payload;
      } catch (err) {
        const badSignature = err instanceof joseErrors.JWSSignatureVerificationFailed;
        // Only a signature that fails with the current secret is tried with the previous one.
        if (badSignature && index < this.keys.length - 1) continue;
        throw refusalOf(err);
      }
    }
    throw unauthorized('the token signature is not valid for this server');
  }
}

function refusalOf(err: unknown): ProtocolError {
  if (err instanceof joseErrors.JWTExpired)
    return unauthorized('the token has expired; get a new one');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return unauthorized('the token signature is not valid for this server');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'sub') return unauthorized(SUB_RULE);
    if (err.claim === 'nbf')
      return unauthorized('the token is not valid yet (its "nbf" is in the future)');
    return unauthorized(`the token is missing a claim: ${err.message}`);
  }
  return unauthorized('the token is malformed; it must be an HS256 JWT');
}

function grantsOf(docs: unknown): Grants {
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) {
    throw unauthorized(
      'the token needs a "docs" claim: an object of document id (or "*") to "read" or "write"',
    );
  }
  const grants: Record<string, 'read' | 'write'> = Object.create(null) as Record<
    string,
    'read' | 'write'
  >;
  for (const [doc, access] of Object.entries(docs)) {
    if ((doc !== '*' && !DOC_ID_PATTERN.test(doc)) || (access !== 'read' && access !== 'write')) {
      throw unauthorized(
        `the token's "docs" claim has an invalid entry for "${doc.slice(0, 128)}"`,
      );
    }
    grants[doc] = access;
  }
  return grants;
}
