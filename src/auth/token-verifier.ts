import { jwtVerify, errors as joseErrors } from 'jose';
import { ProtocolError, DOC_ID_PATTERN } from '../protocol';
import type { Grants } from '../realtime/grants';

export interface VerifiedIdentity {
  user: string | null;
  grants: Grants;
}

const unauthorized = (message: string) => new ProtocolError('UNAUTHORIZED', message);

/**
 * Verifies HS256 tokens of PROTOCOL.md section 7. With no secret, auth is off
 * and everyone may write everything. The token itself is never logged.
 */
export class TokenVerifier {
  private readonly key: Uint8Array | null;

  constructor(secret: string) {
    this.key = secret === '' ? null : new TextEncoder().encode(secret);
  }

  get enabled(): boolean {
    return this.key !== null;
  }

  async verify(token: string | null): Promise<VerifiedIdentity> {
    if (!this.key) return { user: null, grants: null };
    if (!token) throw unauthorized('a token is required: connect with ?token=<JWT>');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired)
        throw unauthorized('the token has expired; get a new one');
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
        throw unauthorized('the token signature is not valid for this server');
      }
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        throw unauthorized(`the token is missing a claim: ${err.message}`);
      }
      throw unauthorized('the token is malformed; it must be an HS256 JWT');
    }
    return { user: String(payload.sub), grants: grantsOf(payload.docs) };
  }
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
