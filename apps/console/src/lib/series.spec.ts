import { describe, expect, it } from 'vitest';
import { chartPoints, niceCeiling, pushPoint } from './series';

describe('live chart series', () => {
  it('keeps only the points within the window of the newest', () => {
    let series = [{ at: 0, value: 1 }];
    series = pushPoint(series, { at: 50, value: 2 }, 100);
    series = pushPoint(series, { at: 120, value: 3 }, 100);
    expect(series.map((p) => p.at)).toEqual([50, 120]);
  });

  it('scales values to a round maximum, the newest point at the right edge', () => {
    expect(niceCeiling(0)).toBe(1);
    expect(niceCeiling(3)).toBe(5);
    expect(niceCeiling(120)).toBe(200);
    expect(niceCeiling(1000)).toBe(1000);
    const { points, max } = chartPoints(
      [
        { at: 0, value: 0 },
        { at: 100, value: 4 },
      ],
      200,
      50,
      100,
    );
    expect(max).toBe(5);
    expect(points).toBe('0.0,50.0 200.0,10.0');
  });
});
