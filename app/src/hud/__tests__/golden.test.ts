/**
 * @jest-environment node
 *
 * The TypeScript HUD against golden vectors of the Python HUD (tools/golden_vectors.py: the
 * real ONNX students on the real dashcam clip through `edgedistill run`'s steps).
 * Tolerances: boxes 0.05 px and scores 1e-3 (the raw output is stored rounded to 1e-3);
 * track ids, lead choice and BRAKE exact; lead distance 1e-4 relative; TTC 1 % relative
 * (TTC is 1/slope of ln width: the stored rounding alone moves a 60 s TTC by 0.3 %).
 */
import { HudPipeline, HUD_DEFAULTS, letterbox, shareInside, toFrame, type Tensor } from '..';
import golden from './golden.json';

interface GoldenFrame {
  time_s: number;
  size: [number, number];
  raw: { index: number[]; rows?: number[][]; columns?: [number[], number[], number[]][] };
  detections: number[][];
  tracked: number[][];
  ego_dropped: number;
  lead: null | { index: number; track_id: number; class: string; distance_m: number | null; ttc_s: number | null; warning: boolean };
  refused: number[];
}

/** The full raw tensor, zeros where the golden file left rows or columns out. */
function rebuild(raw: GoldenFrame['raw'], shape: number[]): Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (raw.rows) {
    raw.index.forEach((r, k) => data.set(raw.rows![k], r * 6));
  } else {
    const n = shape[2];
    raw.index.forEach((i, k) => {
      const [box, classes, values] = raw.columns![k];
      box.forEach((v, c) => (data[c * n + i] = v));
      classes.forEach((c, j) => (data[(4 + c) * n + i] = values[j]));
    });
  }
  return { data, dims: shape };
}

const hud = {
  ...HUD_DEFAULTS,
  conf: golden.hud.conf,
  iou: golden.iou,
  horizontalFovDeg: golden.hud.horizontal_fov_deg,
  vehicleWidthsM: golden.hud.vehicle_widths_m,
  ttcWarningS: golden.hud.ttc_warning_s,
  ttcWindowS: golden.hud.ttc_window_s,
  egoZone: golden.hud.ego_zone as [number, number][],
  egoMask: golden.hud.ego_mask as [number, number][],
  minLeadDistanceM: golden.hud.min_lead_distance_m,
};

function sortRows(rows: number[][]): number[][] {
  return [...rows].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

function expectBoxesClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  const a = sortRows(actual);
  const e = sortRows(expected);
  a.forEach((row, i) => {
    for (let c = 0; c < 4; c++) expect(Math.abs(row[c] - e[i][c])).toBeLessThan(0.05);
    expect(Math.abs(row[4] - e[i][4])).toBeLessThan(1e-3);
    expect(row.slice(5)).toEqual(e[i].slice(5));
  });
}

describe.each(golden.students.map((s) => [s.weights, s] as const))('golden vectors of %s', (_, student) => {
  const frames = student.frames as unknown as GoldenFrame[];

  it('has frames with detections and a lead vehicle to compare', () => {
    expect(frames.length).toBeGreaterThan(3);
    expect(frames.some((f) => f.detections.length > 0)).toBe(true);
    expect(frames.some((f) => f.lead !== null)).toBe(true);
    expect(frames.some((f) => f.ego_dropped > 0)).toBe(true);
    expect(frames.some((f) => f.refused.length > 0)).toBe(true);
  });

  it('decodes, tracks and finds the lead vehicle as the Python HUD does', () => {
    const pipeline = new HudPipeline({
      names: student.names,
      inputSize: [480, 640],
      settings: hud,
      frameRate: student.fps,
    });
    let ttcs = 0;
    for (const frame of frames) {
      const [width, height] = frame.size;
      const out = pipeline.fromTensor(rebuild(frame.raw, student.output_shape), width, height, frame.time_s);
      expectBoxesClose(
        out.detections.map((d) => [...d.box, d.score, d.classId, d.trackId]),
        frame.tracked,
      );
      expect(pipeline.refused).toEqual(frame.refused);
      if (frame.lead === null) {
        expect(out.lead).toBeNull();
        continue;
      }
      expect(out.lead).not.toBeNull();
      const lead = out.lead!;
      expect(lead.trackId).toBe(frame.lead.track_id);
      expect(lead.className).toBe(frame.lead.class);
      expect(Math.abs(lead.distanceM! / frame.lead.distance_m! - 1)).toBeLessThan(1e-4);
      expect(lead.warning).toBe(frame.lead.warning);
      if (frame.lead.ttc_s === null) expect(lead.ttcS).toBeNull();
      else {
        ttcs += 1;
        expect(Math.abs(lead.ttcS! / frame.lead.ttc_s - 1)).toBeLessThan(0.01);
      }
    }
    if (student.output_format === 'end2end') expect(ttcs).toBeGreaterThan(3);
  });
});

describe('ego mask', () => {
  it.each(golden.ego.map((c, i) => [i, c] as const))('case %i: the share of the box inside', (_, c) => {
    const share = shareInside(c.box as [number, number, number, number], c.polygon as [number, number][]);
    expect(Math.abs(share - c.share)).toBeLessThan(1e-9);
  });
});

describe('letterbox', () => {
  it.each(golden.letterbox.map((c) => [c.frame.join('x'), c] as const))(
    'matches Ultralytics for a %s frame',
    (_, c) => {
      const [w, h] = c.frame;
      const lb = letterbox(w, h, 640, 480);
      expect([lb.resizedWidth, lb.resizedHeight]).toEqual(c.resized);
      expect([lb.padX, lb.padY]).toEqual(c.pad);
      const back = toFrame(c.input_box as [number, number, number, number], lb, w, h);
      back.forEach((v, i) => expect(v).toBeCloseTo(c.frame_box[i], 3));
    },
  );
});
