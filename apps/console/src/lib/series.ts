/** A rolling window of (time, value) points for the live charts. */
export interface Point {
  at: number;
  value: number;
}

/** Adds a point and keeps those within `windowMs` of it. */
export function pushPoint(series: Point[], point: Point, windowMs: number): Point[] {
  return [...series, point].filter((p) => point.at - p.at <= windowMs);
}

/**
 * SVG polyline points for a series in a `width`×`height` box, time on x (the window ending at the
 * last point), value on y from 0 to a round maximum above the largest value and at least `minMax`.
 */
export function chartPoints(series: Point[], width: number, height: number, windowMs: number, minMax = 1): { points: string; max: number } {
  // A tenth of headroom: the newest value never sits on the top edge.
  const top = Math.max(minMax, ...series.map((p) => p.value * 1.1));
  const max = niceCeiling(top);
  const end = series.at(-1)?.at ?? 0;
  const points = series
    .map((p) => {
      const x = width - ((end - p.at) / windowMs) * width;
      const y = height - (p.value / max) * height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  return { points, max };
}

/** The smallest of 1, 2, 5 × 10^n at or above `value`. */
export function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}
