/**
 * @jest-environment node
 *
 * Pieces of the HUD core that the real clip does not exercise: an approaching car that must
 * raise BRAKE, the optimal assignment, NMS, and the model description's errors.
 */
import {
  HUD_DEFAULTS,
  HudPipeline,
  LeadTracker,
  nms,
  outsideMask,
  parseModelInfo,
  ttcFromSamples,
  type TrackedDetection,
} from '..';
import { maximumAssignment } from '../assignment';
import { toBase64 } from '../../modes/base64';
import { mergeSettings } from '../../settings/settings';

const NAMES = ['person', 'bicycle', 'car'];

it('raises BRAKE when the car ahead closes in under 2 s, and not before', () => {
  // A 1.8 m wide car at 40 m closing at 10 m/s (true TTC 4 s - t), filmed at 15 fps by a
  // 640 px wide camera with a 64° field of view.
  const focal = 320 / Math.tan((32 * Math.PI) / 180);
  const leads = new LeadTracker(HUD_DEFAULTS);
  const seen: { t: number; ttc: number | null; warning: boolean; distance: number | null }[] = [];
  for (let i = 0; i < 50; i++) {
    const t = i / 15;
    const distance = 40 - 10 * t;
    const w = (focal * 1.8) / distance;
    const car: TrackedDetection = { box: [320 - w / 2, 400 - w / 2, 320 + w / 2, 400], score: 0.9, classId: 2, trackId: 1 };
    const lead = leads.update([car], NAMES, t, 640, 480)!;
    seen.push({ t, ttc: lead.ttcS, warning: lead.warning, distance: lead.distanceM });
  }
  expect(seen[0].distance).toBeCloseTo(40, 6);
  expect(seen[0].ttc).toBeNull(); // fewer than 4 samples
  const late = seen.filter((s) => s.ttc !== null && s.t > 0.5);
  for (const s of late) expect(Math.abs(s.ttc! - (4 - s.t))).toBeLessThan(0.15);
  const first = seen.find((s) => s.warning)!.t;
  expect(first).toBeGreaterThan(1.9);
  expect(first).toBeLessThan(2.15);
  expect(seen.every((s) => !s.warning || s.ttc! < 2)).toBe(true);
});

it('gives no TTC for a box that does not grow', () => {
  expect(ttcFromSamples([[0, 4], [0.1, 4], [0.2, 4], [0.3, 4]])).toBeNull();
  expect(ttcFromSamples([[0, 4], [0, 4.1], [0, 4.2], [0, 4]])).toBeNull();
});

it('ignores people and objects outside the lane when choosing the lead vehicle', () => {
  const leads = new LeadTracker(HUD_DEFAULTS);
  const person: TrackedDetection = { box: [300, 300, 340, 470], score: 0.9, classId: 0, trackId: 1 };
  const carAside: TrackedDetection = { box: [0, 300, 80, 470], score: 0.9, classId: 2, trackId: 2 };
  expect(leads.update([person, carAside], NAMES, 0, 640, 480)).toBeNull();
});

it("never takes the car's own hood as the lead vehicle", () => {
  // A full-width box on the bottom edge: the hood, 1.8 m away by its width; a real car ahead.
  const hood: TrackedDetection = { box: [60, 430, 580, 478], score: 0.9, classId: 2, trackId: 1 };
  const ahead: TrackedDetection = { box: [300, 250, 340, 280], score: 0.8, classId: 2, trackId: 2 };
  const plain = new LeadTracker({ ...HUD_DEFAULTS, minLeadDistanceM: 0 });
  expect(plain.update([hood, ahead], NAMES, 0, 640, 480)!.trackId).toBe(1); // what it guards against
  const guarded = new LeadTracker(HUD_DEFAULTS);
  const lead = guarded.update([hood, ahead], NAMES, 0, 640, 480)!;
  expect(lead.trackId).toBe(2);
  expect(lead.distanceM!).toBeGreaterThan(HUD_DEFAULTS.minLeadDistanceM);
  expect(guarded.refused).toEqual([1]);
  const mask: [number, number][] = [[0, 0.85], [1, 0.85], [1, 1], [0, 1]];
  expect(outsideMask([hood, ahead], mask, 640, 480)).toEqual([ahead]);
  const pipeline = new HudPipeline({
    names: NAMES,
    inputSize: [480, 640],
    settings: { ...HUD_DEFAULTS, egoMask: mask, minLeadDistanceM: 0 },
    frameRate: 15,
  });
  expect(pipeline.withLead([hood, ahead], 640, 480, 0).detections).toEqual([ahead]);
});

it('keeps a vehicle closing in as the lead however close it comes', () => {
  // Seen at 10 m first: at 1.6 m it is still the lead, with its TTC and BRAKE.
  const focal = 320 / Math.tan((32 * Math.PI) / 180);
  const leads = new LeadTracker(HUD_DEFAULTS);
  let lead = null;
  for (let step = 0; step < 22; step++) {
    const t = step / 15;
    const w = (focal * 1.8) / (10 - 6 * t);
    const car: TrackedDetection = { box: [320 - w / 2, 470 - w / 2, 320 + w / 2, 470], score: 0.9, classId: 2, trackId: 1 };
    lead = leads.update([car], NAMES, t, 640, 480);
    expect(lead?.trackId).toBe(1);
  }
  expect(lead!.distanceM!).toBeLessThan(2);
  expect(lead!.warning).toBe(true);
  expect(leads.refused).toEqual([]);
});

it('the assignment is optimal on rectangular matrices', () => {
  let seed = 3;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (const [rows, cols] of [[3, 5], [5, 3], [4, 4], [1, 6]]) {
    const m = Array.from({ length: rows }, () => Array.from({ length: cols }, () => random()));
    const pairs = maximumAssignment(m);
    expect(pairs).toHaveLength(Math.min(rows, cols));
    const total = pairs.reduce((s, [r, c]) => s + m[r][c], 0);
    expect(total).toBeCloseTo(bruteForce(m), 10);
  }
});

function bruteForce(m: number[][]): number {
  const rows = m.length;
  const cols = m[0].length;
  const best = (r: number, used: Set<number>): number => {
    if (r === rows) return 0;
    let top = rows > cols ? best(r + 1, used) : -Infinity; // a row may stay unmatched
    for (let c = 0; c < cols; c++) {
      if (used.has(c)) continue;
      used.add(c);
      top = Math.max(top, m[r][c] + best(r + 1, used));
      used.delete(c);
    }
    return top;
  };
  return best(0, new Set());
}

it('NMS keeps the best box of an overlapping group of the same class only', () => {
  const kept = nms(
    [
      { box: [0, 0, 10, 10], score: 0.6, classId: 2 },
      { box: [1, 1, 11, 11], score: 0.9, classId: 2 },
      { box: [1, 1, 11, 11], score: 0.5, classId: 0 },
      { box: [50, 50, 60, 60], score: 0.4, classId: 2 },
    ],
    0.5,
    300,
  );
  expect(kept.map((d) => d.score)).toEqual([0.9, 0.5, 0.4]);
});

it('a tentative track is not drawn: ids appear on the second frame', () => {
  const pipeline = new HudPipeline({ names: NAMES, inputSize: [480, 640], settings: HUD_DEFAULTS, frameRate: 15 });
  const car = { box: [300, 300, 360, 350] as [number, number, number, number], score: 0.9, classId: 2 };
  expect(pipeline.fromDetections([car], 640, 480, 0).detections).toHaveLength(0);
  expect(pipeline.fromDetections([car], 640, 480, 1 / 15).detections[0].trackId).toBe(0);
});

it('model.json mistakes are one sentence', () => {
  expect(() => parseModelInfo({ names: 'car' })).toThrow('model.json: "names" must be a list of class names');
  expect(() => parseModelInfo({ names: ['car'], input_size: [480, 640], output_format: 'nms' })).toThrow(
    'model.json: "output_format" must be "end2end" or "yolo"',
  );
  const info = parseModelInfo({ names: ['car'], input_size: [480, 640], output_format: 'end2end', hud: { horizontal_fov_deg: 70 } });
  expect(info.hud.horizontalFovDeg).toBe(70);
  expect(info.hud.ttcWarningS).toBe(2);
});

it('stored settings fall back to defaults when malformed', () => {
  const s = mergeSettings({ mode: 'teleport', conf: 7, serverUrl: 42, roboflowFps: 3 });
  expect(s.mode).toBe('device');
  expect(s.conf).toBe(0.95);
  expect(s.serverUrl).toBe('');
  expect(s.roboflowFps).toBe(3);
});

it('base64 matches Node', () => {
  for (const n of [0, 1, 2, 3, 4, 255]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
  }
});
