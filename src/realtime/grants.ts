/** What a token allows, by document id or `*`; null when authentication is off. */
export type Grants = Readonly<Record<string, 'read' | 'write'>> | null;

export type Access = 'none' | 'read' | 'write';

/** The access a connection has to a document; an exact grant wins over `*`. */
export function accessTo(grants: Grants, doc: string): Access {
  if (grants === null) return 'write';
  const grant = Object.prototype.hasOwnProperty.call(grants, doc) ? grants[doc] : grants['*'];
  return grant === 'read' || grant === 'write' ? grant : 'none';
}
