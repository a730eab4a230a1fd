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
 * failure that fast-check reported. FUZZ_FRAMES instead runs the Redis mode until it has sent
 * that many frames (the memory mode keeps FUZZ_RUNS), and FUZZ_BATCH_FRAMES (default 12) is the most frames in one batch: longer
 * batches spend less of the run on the per-batch checks. FUZZ_PARALLEL (default 1) batches
 * run at once, each on its own document and connections: most of a batch's time is spent
 * waiting for round trips, so a long run is much shorter with several.
 */
const runs = Number(process.env.FUZZ_RUNS ?? '300');
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const frameTarget =
  process.env.FUZZ_FRAMES === undefined ? undefined : Number(process.env.FUZZ_FRAMES);
const batchFrames = Number(process.env.FUZZ_BATCH_FRAMES ?? '12');
const parallel = Number(process.env.FUZZ_PARALLEL ?? '1');
/** Long runs get the time they need: about 50 ms per batch in memory, 150 ms with Redis. */
const timeoutFor = (msPerBatch: number, batches: number) =>
  Math.max(60_000, batches * parallel * msPerBatch * 3 * Math.max(1, batchFrames / 12));
/** A frame target takes about 3 ms per frame with Redis on a busy 2-core machine. */
const frameTimeout = (frames: number) => Math.max(60_000, frames * 20);

const MAX_PAYLOAD_BYTES = 65_536;
const LIMITS = {
  // The fuzzer sends fast; rate limits would hide what it sends behind RATE_LIMITED.
  LIMIT_MESSAGES_PER_SECOND: '1000000',
  LIMIT_MESSAGE_BURST: '1000000',
  LIMIT_PRESENCE_PER_SECOND: '1000000',
  WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
};

const batches = fc.array(frameArbitrary({ doc: DOC_PLACEHOLDER }), {
  minLength: 1,
  maxLength: batchFrames,
  // Lengths spread over the whole range: fast-check's default keeps most arrays short.
  size: 'max',
});
const rounds = fc.array(batches, { minLength: parallel, maxLength: parallel });

/**
 * Enough runs to reach the frame target with a margin at the generator's mean round length;
 * once the target is reached the remaining runs only generate and send nothing.
 */
function runsForFrames(frames: number): number {
  const sample = fc.sample(rounds, { numRuns: 50, seed: 1 }).flat();
  const mean = (parallel * sample.reduce((sum, b) => sum + b.length, 0)) / sample.length;
  return Math.ceil((1.3 * frames) / mean) + 10;
}

async function fuzz(
  vars: Record<string, string>,
  numRuns: number,
  frameTarget?: number,
): Promise<FrameFuzzer> {
  const server = await startTestServer({ ...LIMITS, ...vars });
  const fuzzer = new FrameFuzzer({
    url: server.url,
    http: server.http,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
  });
  const startedAt = Date.now();
  try {
    await fc.assert(
      fc.asyncProperty(rounds, async (round) => {
        if (frameTarget !== undefined && fuzzer.totals.frames >= frameTarget) return;
        await Promise.all(round.map((frames) => fuzzer.runBatch(frames)));
      }),
      { numRuns, ...(seed === undefined ? {} : { seed }) },
    );
  } finally {
    await server.close();
  }
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(0);
  console.info(`fuzz totals (${seconds} s): ${JSON.stringify(fuzzer.totals)}`);
  return fuzzer;
}

describe('fuzzed frames', () => {
  it(
    'memory mode: the gateway survives, never answers INTERNAL, and refused input changes no document',
    async () => {
      const { totals } = await fuzz({}, runs);
      expect(totals.batches).toBe(runs * parallel);
      // The generator reaches the interesting paths: refusals and applied ops both.
      expect(totals.errors.BAD_REQUEST ?? 0).toBeGreaterThan(totals.batches);
      expect(totals.applied).toBeGreaterThan(totals.batches / 2);
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
        const { totals } =
          frameTarget === undefined
            ? await fuzz(vars, redisRuns)
            : await fuzz(vars, runsForFrames(frameTarget), frameTarget);
        if (frameTarget === undefined) expect(totals.batches).toBe(redisRuns * parallel);
        else expect(totals.frames).toBeGreaterThanOrEqual(frameTarget);
        expect(totals.applied).toBeGreaterThan(0);
      },
      frameTarget === undefined ? timeoutFor(150, redisRuns) : frameTimeout(frameTarget),
    );
  });
});
