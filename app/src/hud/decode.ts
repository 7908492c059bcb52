/**
 * The student's raw output to detections in frame pixels.
 *
 * - YOLO26 end-to-end: `[1, 300, 6]`, rows of x1, y1, x2, y2, score, class in model-input
 *   pixels, already free of duplicates: keep rows scoring above `conf`.
 * - YOLO11 (and v8): `[1, 4 + nc, N]`, columns of cx, cy, w, h and one score per class:
 *   best class per column above `conf`, then per-class NMS.
 * Both then undo the letterbox, as Ultralytics' predictor does.
 */
import { type Letterbox, toFrame } from './letterbox';
import { nms } from './nms';
import type { Box, Detection } from './types';

export type OutputFormat = 'end2end' | 'yolo';

/** A tensor as every runtime hands it over: flat data and its dimensions. */
export interface Tensor {
  data: Float32Array | number[];
  dims: readonly number[];
}

export interface DecodeOptions {
  conf: number;
  iou: number;
  maxDet: number;
  letterbox: Letterbox;
  frameWidth: number;
  frameHeight: number;
}

export function outputFormat(dims: readonly number[]): OutputFormat {
  if (dims.length === 3 && dims[2] === 6) return 'end2end';
  if (dims.length === 3 && dims[1] > 4) return 'yolo';
  throw new Error(`unexpected model output shape [${dims.join(', ')}]`);
}

export function decode(output: Tensor, options: DecodeOptions): Detection[] {
  const raw =
    outputFormat(output.dims) === 'end2end'
      ? decodeEnd2End(output, options.conf, options.maxDet)
      : nms(decodeYolo(output, options.conf), options.iou, options.maxDet);
  return raw.map((d) => ({
    ...d,
    box: toFrame(d.box, options.letterbox, options.frameWidth, options.frameHeight),
  }));
}

/** Rows of an end-to-end head scoring above `conf`, in model-input pixels. */
export function decodeEnd2End(output: Tensor, conf: number, maxDet: number): Detection[] {
  const { data } = output;
  const rows = output.dims[1];
  const found: Detection[] = [];
  for (let r = 0; r < rows && found.length < maxDet; r++) {
    const o = r * 6;
    const score = data[o + 4];
    if (score > conf) {
      found.push({
        box: [data[o], data[o + 1], data[o + 2], data[o + 3]],
        score,
        classId: Math.round(data[o + 5]),
      });
    }
  }
  return found;
}

/** Best class of each anchor column scoring above `conf`, before NMS, in model-input pixels. */
export function decodeYolo(output: Tensor, conf: number): Detection[] {
  const { data } = output;
  const channels = output.dims[1];
  const n = output.dims[2];
  const found: Detection[] = [];
  for (let i = 0; i < n; i++) {
    let best = -1;
    let score = conf;
    for (let c = 4; c < channels; c++) {
      const s = data[c * n + i];
      if (s > score) {
        score = s;
        best = c - 4;
      }
    }
    if (best < 0) continue;
    const cx = data[i];
    const cy = data[n + i];
    const hw = data[2 * n + i] / 2;
    const hh = data[3 * n + i] / 2;
    const box: Box = [cx - hw, cy - hh, cx + hw, cy + hh];
    found.push({ box, score, classId: best });
  }
  return found;
}
