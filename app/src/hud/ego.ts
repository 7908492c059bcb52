/**
 * The ego vehicle's own hood or dashboard, as `ego.py`: a polygon in (x, y) shares of the
 * frame; a box with at least half its area inside it is never an object, and is dropped
 * before tracking. The share is the polygon clipped to the box (Sutherland-Hodgman) measured
 * by the shoelace formula, step for step as in Python (golden vectors).
 */
import type { Box, Detection } from './types';

/** A box with this share of its area inside the mask or more is the ego vehicle. */
export const INSIDE_SHARE = 0.5;

type Point = readonly [number, number];

/** The share of the area of `box` inside `polygon` (same units). */
export function shareInside(box: Readonly<Box>, polygon: readonly Point[]): number {
  const [x1, y1, x2, y2] = box;
  const area = (x2 - x1) * (y2 - y1);
  if (area <= 0 || polygon.length < 3) return 0;
  let clipped: Point[] = polygon.map(([x, y]) => [x, y] as const);
  const edges: [0 | 1, number, boolean][] = [
    [0, x1, true],
    [0, x2, false],
    [1, y1, true],
    [1, y2, false],
  ];
  for (const [axis, bound, keepAbove] of edges) {
    clipped = clip(clipped, axis, bound, keepAbove);
    if (!clipped.length) return 0;
  }
  return Math.min(shoelace(clipped) / area, 1);
}

/** `detections` (pixels of a `width`×`height` frame) without the ego vehicle. */
export function outsideMask<T extends Detection>(
  detections: readonly T[],
  mask: readonly Point[],
  width: number,
  height: number,
): T[] {
  if (!mask.length) return [...detections];
  const scaled = mask.map(([x, y]) => [x * width, y * height] as const);
  return detections.filter((d) => shareInside(d.box, scaled) < INSIDE_SHARE);
}

function clip(polygon: readonly Point[], axis: 0 | 1, bound: number, keepAbove: boolean): Point[] {
  const isInside = (p: Point) => (keepAbove ? p[axis] >= bound : p[axis] <= bound);
  const result: Point[] = [];
  polygon.forEach((current, i) => {
    const previous = polygon[(i + polygon.length - 1) % polygon.length];
    if (isInside(current) !== isInside(previous)) {
      const t = (bound - previous[axis]) / (current[axis] - previous[axis]);
      result.push([
        previous[0] + t * (current[0] - previous[0]),
        previous[1] + t * (current[1] - previous[1]),
      ]);
    }
    if (isInside(current)) result.push(current);
  });
  return result;
}

function shoelace(polygon: readonly Point[]): number {
  let total = 0;
  polygon.forEach(([x, y], i) => {
    const [px, py] = polygon[(i + polygon.length - 1) % polygon.length];
    total += px * y - x * py;
  });
  return Math.abs(total) / 2;
}
