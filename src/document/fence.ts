/**
 * Proof that the caller still holds a document's processing claim. The Redis
 * backend checks it inside the atomic apply, so a worker that lost its claim
 * (paused, partitioned) cannot apply after another took over.
 */
export interface Fence {
  owner: string;
  token: number;
}

/**
 * The apply was refused because another worker claimed the document after
 * the caller did. Nothing was applied; the caller must stop processing it.
 */
export class FencedError extends Error {
  constructor(doc: string) {
    super(`processing claim on document "${doc}" was taken over by another worker`);
    this.name = 'FencedError';
  }
}
