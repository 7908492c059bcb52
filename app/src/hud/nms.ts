/** Greedy per-class non-maximum suppression, as torchvision.ops.nms over class-offset boxes. */
import type { Detection } from './types';

export function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Keeps the best-scoring box of each overlapping group of the same class, best first. */
export function nms(candidates: Detection[], iouThreshold: number, maxDet: number): Detection[] {
  const order = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const candidate of order) {
    if (kept.length >= maxDet) break;
    const overlaps = kept.some(
      (k) => k.classId === candidate.classId && iou(k.box, candidate.box) > iouThreshold,
    );
    if (!overlaps) kept.push(candidate);
  }
  return kept;
}
