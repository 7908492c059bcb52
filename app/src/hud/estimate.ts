/**
 * Distance and time to collision from a monocular camera, as `hud/estimate.py`:
 * - distance d = f·W / w with f = (image width / 2) / tan(FOV / 2) and W a per-class width;
 * - TTC = 1 / (d ln w / dt) from a least-squares line through ln(width) over the last
 *   `windowS` seconds, moved from the window's middle to its newest sample; no growth, no TTC.
 */

export function focalLengthPx(imageWidth: number, horizontalFovDeg: number): number {
  return imageWidth / 2 / Math.tan((horizontalFovDeg * Math.PI) / 180 / 2);
}

export function distanceM(boxWidthPx: number, realWidthM: number, focalPx: number): number | null {
  return boxWidthPx > 0 ? (focalPx * realWidthM) / boxWidthPx : null;
}

/** Growth of ln(width) under 0.5 %/s is noise (a TTC of minutes). */
const MIN_GROWTH_PER_S = 0.005;

export class TimeToCollision {
  private samples: [number, number][] = [];

  constructor(
    private readonly windowS = 1.0,
    private readonly minSamples = 4,
  ) {}

  /** Adds a sample; the TTC in seconds, or null when not approaching or too few samples. */
  update(timeS: number, boxWidthPx: number): number | null {
    if (boxWidthPx > 0) this.samples.push([timeS, Math.log(boxWidthPx)]);
    while (this.samples.length && timeS - this.samples[0][0] > this.windowS) this.samples.shift();
    return this.samples.length >= this.minSamples ? ttcFromSamples(this.samples) : null;
  }
}

export function ttcFromSamples(samples: readonly (readonly [number, number])[]): number | null {
  const n = samples.length;
  const meanT = samples.reduce((s, [t]) => s + t, 0) / n;
  const meanV = samples.reduce((s, [, v]) => s + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [t, v] of samples) {
    sxx += (t - meanT) ** 2;
    sxy += (t - meanT) * (v - meanV);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  if (slope <= MIN_GROWTH_PER_S) return null;
  return Math.max(1 / slope - (samples[n - 1][0] - meanT), 0);
}

/** Point-in-polygon by ray casting. */
export function inside(point: readonly [number, number], polygon: readonly (readonly [number, number])[]): boolean {
  const [x, y] = point;
  let result = false;
  for (let i = 0; i < polygon.length; i++) {
    const [x1, y1] = polygon[i];
    const [x2, y2] = polygon[(i + 1) % polygon.length];
    if (y1 > y !== y2 > y && x < x1 + ((y - y1) * (x2 - x1)) / (y2 - y1)) result = !result;
  }
  return result;
}
