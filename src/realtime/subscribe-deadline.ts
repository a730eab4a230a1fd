import { UnavailableError } from '../protocol';

/** A join waits this long for the document's subscription before answering UNAVAILABLE. */
export const SUBSCRIBE_DEADLINE_MS = 5000;

/** Rejects with UNAVAILABLE when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UnavailableError(
            'the document feed could not be subscribed in time; nothing changed; retry the join',
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
