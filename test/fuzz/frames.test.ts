import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { startTestServer } from '../support/test-server';
import { frameArbitrary } from './frame-arbitraries';
import { DOC_PLACEHOLDER, FrameFuzzer } from './frame-fuzzer';

/**
 * DESIGN.md invariant 7: bad input never crashes a process and never
 * corrupts a document. Generated frames (see frame-arbitraries.ts) go to a
 * running gateway from a client that has joined a document; after each batch
 * the gateway must answer a fresh connection, must never have answered
 * INTERNAL, and the document must hold exactly the acked op messages.
 *
 * The default run is bounded (about 10 s). `npm run fuzz` runs it long:
 * FUZZ_RUNS batches in memory mode and a third as many with Redis (default 20000 there), FUZZ_SEED to replay a
 * failure that fast-check reported.
 */
const runs = Number(process.env.FUZZ_RUNS ?? '300');
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Long runs get the time they need: about 50 ms per batch in memory, 150 ms with Redis. */
const timeoutFor = (msPerBatch: number, batches: number) =>
  Math.max(60_000, batches * msPerBatch * 3);

const MAX_PAYLOAD_BYTES = 65_536;
const LIMITS = {
  // The fuzzer sends fast; rate limits would hide what it sends behind RATE_LIMITED.
  LIMIT_MESSAGES_PER_SECOND: '1000000',
  LIMIT_MESSAGE_BURST: '1000000',
  LIMIT_PRESENCE_PER_SECOND: '1000000',
  WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
};

const batches = fc.array(frameArbitrary({ doc: DOC_PLACEHOLDER }), { minLength: 1, maxLength: 12 });

async function fuzz(vars: Record<string, string>, numRuns: number): Promise<FrameFuzzer> {
  const server = await startTestServer({ ...LIMITS, ...vars });
  const fuzzer = new FrameFuzzer({
    url: server.url,
    http: server.http,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
  });
  try {
    await fc.assert(
      fc.asyncProperty(batches, (frames) => fuzzer.runBatch(frames)),
      { numRuns, ...(seed === undefined ? {} : { seed }) },
    );
  } finally {
    await server.close();
  }
  console.info(`fuzz totals: ${JSON.stringify(fuzzer.totals)}`);
  return fuzzer;
}

describe('fuzzed frames', () => {
  it(
    'memory mode: the gateway survives, never answers INTERNAL, and refused input changes no document',
    async () => {
      const { totals } = await fuzz({}, runs);
      expect(totals.batches).toBe(runs);
      // The generator reaches the interesting paths: refusals and applied ops both.
      expect(totals.errors.BAD_REQUEST ?? 0).toBeGreaterThan(runs);
      expect(totals.applied).toBeGreaterThan(runs / 2);
    },
    timeoutFor(50, runs),
  );

  describe('Redis mode (single Redis, all three flags)', () => {
    const redis = useRedisServers();
    let vars: Record<string, string>;
    beforeAll(() => {
      vars = {
        ...redisEnv(redis.addresses, 'single'),
        ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
      };
    });

    const redisRuns = Math.max(1, Math.round(runs / 3));
    it(
      'the same properties when state, history and ordering live in Redis (Lua apply, JSON codec)',
      async () => {
        const { totals } = await fuzz(vars, redisRuns);
        expect(totals.batches).toBe(redisRuns);
        expect(totals.applied).toBeGreaterThan(0);
      },
      timeoutFor(150, redisRuns),
    );
  });
});
