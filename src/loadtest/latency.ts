import * as hdr from 'hdr-histogram-js';

/** Latencies are recorded in whole microseconds, from 1 µs to one hour, to 3 significant digits. */
const HIGHEST_US = 3_600_000_000;

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });
}

export function recordUs(histogram: Histogram, us: number): void {
  histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(us))));
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Adds encoded histograms (one per thread) into one. */
export function mergeHistograms(encoded: readonly string[]): Histogram {
  const total = newHistogram();
  for (const text of encoded) total.add(hdr.decodeFromCompressedBase64(text));
  return total;
}

/** Percentiles in milliseconds; NaN everywhere when nothing was recorded. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function summarize(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  const ms = (us: number) => (count === 0 ? NaN : Math.round(us) / 1000);
  return {
    count,
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
  };
}
