/**
 * @jest-environment node
 *
 * The iPhone's on-device path end to end — VisionCamera frame output → GPU resizer → letterbox
 * tensor → ONNX Runtime (CoreML) → decode → track → lead — with the native modules mocked at
 * their published JS boundaries and fed real data recorded in Python (tools/golden_camera.py):
 * real dashcam frames (frames.bin), the exported YOLO26 student's real outputs for exactly
 * those frames, and what the Python HUD drew on them (camera.json).
 *
 * The mocks: a VisionCamera `Frame` holding the recorded RGB pixels; the resizer's `createResizer`
 * / `Resizer.resize` / `GPUFrame`, resizing as its Metal kernel does (orientation undone,
 * normalized coordinates, bilinear with clamp to edge, planar float RGB); `scheduleOnRN`
 * (react-native-worklets) as an asynchronous hop; onnxruntime-react-native's `InferenceSession`
 * answering with the recorded output of the frame whose input tensor it is given — and with an
 * error for any tensor Python did not build.
 */
import fs from 'fs';
import path from 'path';
import zlib from 'zlib';

import type { CameraOrientation, Frame } from 'react-native-vision-camera';
import { type GPUFrame, type Resizer, type ResizerOptions, createResizer } from 'react-native-vision-camera-resizer';

import { HUD_DEFAULTS, type HudSettings, letterbox, parseModelInfo } from '../../hud';
import golden from '../../hud/__tests__/golden.json';
import { type LoopResult, startDeviceLoop } from '../../modes/loops';
import { createRuntime } from '../../modes/runtime';
import {
  type FrameGate,
  NativeFrameSource,
  type Shared,
  type SizedResizer,
  frameProcessor,
} from '../framePipeline';
import { letterboxedPlanes, resizerOptions } from '../letterboxInput';
import recorded from './camera.json';

interface RecordedFrame {
  time_s: number;
  tensor: { mean: number[]; index: number[]; values: number[] };
  raw: { index: number[]; rows: number[][] };
  tracked: number[][];
  lead: null | { track_id: number; class: string; distance_m: number | null; ttc_s: number | null; warning: boolean };
}

const mockFrames = recorded.frames as RecordedFrame[];
const [FRAME_W, FRAME_H] = recorded.frame_size;

/** The recorded RGB frames: rows stored as differences to the left pixel, deflated. */
function readFrames(): Uint8Array[] {
  const bytes = zlib.inflateSync(fs.readFileSync(path.join(__dirname, 'frames.bin')));
  const size = FRAME_W * FRAME_H * 3;
  expect(bytes.length).toBe(size * mockFrames.length);
  return mockFrames.map((_, k) => {
    const rgb = new Uint8Array(bytes.subarray(k * size, (k + 1) * size));
    for (let y = 0; y < FRAME_H; y++)
      for (let x = 1; x < FRAME_W; x++)
        for (let c = 0; c < 3; c++) {
          const i = (y * FRAME_W + x) * 3 + c;
          rgb[i] = (rgb[i] + rgb[i - 3]) & 255;
        }
    return rgb;
  });
}
const IMAGES = readFrames();

// --- react-native-worklets: the hop from the camera thread to the JS thread -----------------
jest.mock('react-native-worklets', () => ({
  scheduleOnRN: (fn: (...args: unknown[]) => void, ...args: unknown[]) => setTimeout(() => fn(...args), 0),
}));

/** A Synchronizable as the test's gate (the component makes them with createSynchronizable). */
function shared<T>(value: T): Shared<T> {
  return {
    getBlocking: () => value,
    setBlocking: (next) => {
      value = typeof next === 'function' ? (next as (prev: T) => T)(value) : next;
    },
  };
}

// --- VisionCamera: a Frame over recorded RGB pixels, stored as the sensor delivers them ------
interface MockFrame {
  width: number;
  height: number;
  orientation: CameraOrientation;
  pixelFormat: string;
  timestamp: number;
  isMirrored: boolean;
  rgb: Uint8Array;
  disposed: number;
  dispose(): void;
}

/** The upright image as a sensor in `orientation` stores it (the inverse of what the GPU undoes). */
function cameraFrame(rgb: Uint8Array, timestamp: number, orientation: CameraOrientation, pixelFormat = 'yuv-420-8-bit-full'): MockFrame {
  const sideways = orientation === 'right' || orientation === 'left';
  const [width, height] = sideways ? [FRAME_H, FRAME_W] : [FRAME_W, FRAME_H];
  const stored = new Uint8Array(rgb.length);
  for (let by = 0; by < height; by++)
    for (let bx = 0; bx < width; bx++) {
      // 'right': the kernel reads buffer (x, y) = (v, 1 - u) for upright (u, v)
      const [ux, uy] = orientation === 'right' ? [FRAME_W - 1 - by, bx] : orientation === 'left' ? [by, FRAME_H - 1 - bx] : [bx, by];
      stored.set(rgb.subarray((uy * FRAME_W + ux) * 3, (uy * FRAME_W + ux) * 3 + 3), (by * width + bx) * 3);
    }
  return {
    width,
    height,
    orientation,
    pixelFormat,
    timestamp,
    isMirrored: false,
    rgb: stored,
    disposed: 0,
    dispose() {
      this.disposed += 1;
    },
  };
}

// --- react-native-vision-camera-resizer: ResizerKernels.metal in TypeScript ------------------
const mockResizer = { options: [] as ResizerOptions[], resized: [] as MockFrame[], gpuFrames: [] as { disposed: boolean }[], disposed: 0 };

function rotationDegrees(o: CameraOrientation): number {
  return { up: 0, right: 90, down: 180, left: 270 }[o];
}

const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);

function mockMetalResize(frame: MockFrame, o: ResizerOptions): Float32Array {
  const out = new Float32Array(3 * o.width * o.height);
  const inverse = (360 - rotationDegrees(frame.orientation)) % 360;
  const { width, height, rgb } = frame;
  for (let gy = 0; gy < o.height; gy++)
    for (let gx = 0; gx < o.width; gx++) {
      const x = (gx + 0.5) / o.width; // 'stretch': output [0,1]² is the upright source [0,1]²
      const y = (gy + 0.5) / o.height;
      const u = inverse === 90 ? 1 - y : inverse === 180 ? 1 - x : inverse === 270 ? y : x;
      const v = inverse === 90 ? x : inverse === 180 ? 1 - y : inverse === 270 ? 1 - x : y;
      // Linear filter, clamp to edge. (No Math.* here: it is slow in jest's VM context.)
      const sx = clamp(u * width - 0.5, width - 1);
      const sy = clamp(v * height - 0.5, height - 1);
      const x0 = sx | 0;
      const y0 = sy | 0;
      const x1 = x0 + 1 < width ? x0 + 1 : x0;
      const y1 = y0 + 1 < height ? y0 + 1 : y0;
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const top = (rgb[(y0 * width + x0) * 3 + c] * (1 - fx) + rgb[(y0 * width + x1) * 3 + c] * fx) / 255;
        const bottom = (rgb[(y1 * width + x0) * 3 + c] * (1 - fx) + rgb[(y1 * width + x1) * 3 + c] * fx) / 255;
        out[c * o.width * o.height + gy * o.width + gx] = top * (1 - fy) + bottom * fy;
      }
    }
  return out;
}

jest.mock('react-native-vision-camera-resizer', () => ({
  createResizer: async (options: ResizerOptions) => {
    mockResizer.options.push(options);
    let disposed = false;
    return {
      resize(frame: MockFrame) {
        if (disposed) throw new Error('This Resizer has already been disposed!');
        if (frame.pixelFormat !== 'yuv-420-8-bit-full') throw new Error('the resizer reads yuv-420-8-bit-full only');
        mockResizer.resized.push(frame);
        const pixels = mockMetalResize(frame, options);
        const state = { disposed: false };
        mockResizer.gpuFrames.push(state);
        return {
          width: options.width,
          height: options.height,
          getPixelBuffer: () => (state.disposed ? new ArrayBuffer(0) : pixels.buffer),
          dispose: () => (state.disposed = true),
        } as unknown as GPUFrame;
      },
      dispose: () => {
        disposed = true;
        mockResizer.disposed += 1;
      },
    } as unknown as Resizer;
  },
}));

// --- onnxruntime-react-native: the recorded student ------------------------------------------
const mockSession = { options: undefined as unknown, dims: [] as number[][], running: 0, mostAtOnce: 0, answered: [] as number[] };

/** Which recorded frame this input is, by its fingerprint from Python; -1 if none. */
function mockRecognise(input: Float32Array): number {
  const plane = input.length / 3;
  const means = [0, 1, 2].map((c) => input.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
  return mockFrames.findIndex(
    ({ tensor }) =>
      tensor.mean.every((m, c) => Math.abs(means[c] - m) < 1e-5) &&
      tensor.index.every((i, k) => Math.abs(input[i] - tensor.values[k]) < 1e-5),
  );
}

jest.mock('onnxruntime-react-native', () => ({
  Tensor: function MockTensor(this: { dims: number[]; data: Float32Array }, _type: string, data: Float32Array, dims: number[]) {
    this.data = data;
    this.dims = dims;
  },
  InferenceSession: {
    create: async (_path: string, options: unknown) => {
      mockSession.options = options;
      return {
        inputNames: ['images'],
        outputNames: ['output0'],
        run: async (feeds: Record<string, { dims: number[]; data: Float32Array }>) => {
          mockSession.running += 1;
          mockSession.mostAtOnce = Math.max(mockSession.mostAtOnce, mockSession.running);
          mockSession.dims.push(feeds.images.dims);
          await new Promise((r) => setTimeout(r, 15)); // the Neural Engine at work
          mockSession.running -= 1;
          const k = mockRecognise(feeds.images.data);
          if (k < 0) throw new Error('an input tensor the Python pipeline never built');
          mockSession.answered.push(k);
          const data = new Float32Array(300 * 6);
          mockFrames[k].raw.index.forEach((r, j) => data.set(mockFrames[k].raw.rows[j], r * 6));
          return { output0: { data, dims: [1, 300, 6] } };
        },
      };
    },
  },
}));
jest.mock('expo-file-system', () => ({ File: class {}, Paths: {} }));

// --- the phone, simulated --------------------------------------------------------------------
const HUD: HudSettings = {
  ...HUD_DEFAULTS,
  conf: recorded.hud.conf,
  horizontalFovDeg: recorded.hud.horizontal_fov_deg,
  vehicleWidthsM: recorded.hud.vehicle_widths_m,
  ttcWarningS: recorded.hud.ttc_warning_s,
  ttcWindowS: recorded.hud.ttc_window_s,
  egoZone: recorded.hud.ego_zone as [number, number][],
  targetFps: recorded.tracker_fps,
};

/** The camera and the component's wiring: the frame output calls the current worklet every tick. */
function phoneCamera(orientation: CameraOrientation) {
  const gate: FrameGate = { wanted: shared(false), skipped: shared(0) };
  const frames: MockFrame[] = [];
  let onFrame: (frame: Frame) => void = () => undefined;
  const source = new NativeFrameSource(gate, createResizer, (sized: SizedResizer | undefined) => {
    onFrame = frameProcessor(sized, gate, source.receive); // the component re-creates its worklet
  });
  onFrame = frameProcessor(undefined, gate, source.receive);
  // The scene holds still until the model takes it, so the recorded frames are seen in order;
  // the camera's other frames are what the model was too busy for.
  const timer = setInterval(() => {
    const next = mockResizer.resized.length;
    if (next >= mockFrames.length) return;
    const frame = cameraFrame(IMAGES[next], mockFrames[next].time_s, orientation);
    frames.push(frame);
    onFrame(frame as unknown as Frame);
  }, 5);
  return { gate, source, frames, stop: () => clearInterval(timer) };
}

function expectBoxesClose(actual: number[][], expected: number[][]): void {
  const sort = (rows: number[][]) => [...rows].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const [a, e] = [sort(actual), sort(expected)];
  expect(a.length).toBe(e.length);
  a.forEach((row, i) => {
    for (let c = 0; c < 4; c++) expect(Math.abs(row[c] - e[i][c])).toBeLessThan(0.05);
    expect(Math.abs(row[4] - e[i][4])).toBeLessThan(1e-3);
    expect(row.slice(5)).toEqual(e[i].slice(5));
  });
}

beforeEach(() => {
  mockResizer.options = [];
  mockResizer.resized = [];
  mockResizer.gpuFrames = [];
  mockResizer.disposed = 0;
  Object.assign(mockSession, { dims: [], running: 0, mostAtOnce: 0, answered: [] });
});

it('has recorded frames with tracks, a lead vehicle and a time to collision', () => {
  expect(mockFrames.length).toBeGreaterThanOrEqual(8);
  expect(mockFrames.filter((f) => f.tracked.length > 0).length).toBeGreaterThan(5);
  expect(mockFrames.some((f) => f.lead === null)).toBe(true);
  expect(mockFrames.filter((f) => f.lead?.ttc_s).length).toBeGreaterThanOrEqual(2);
});

describe.each(['up', 'right'] as const)('the frame pipeline with %s-oriented camera buffers', (orientation) => {
  it('draws what the Python HUD drew on the same frames, one frame in flight', async () => {
    const info = parseModelInfo({
      version: 'test',
      names: recorded.names,
      input_size: recorded.input_size,
      output_format: 'end2end',
      files: { onnx: { path: 'model.onnx', sha256: '', bytes: 0 } },
    });
    const runtime = await createRuntime(info, 'file:///bundle/model.onnx', 'file:///bundle/');
    expect(JSON.stringify(mockSession.options)).toContain('coreml');
    const camera = phoneCamera(orientation);
    const results: LoopResult[] = [];
    const errors: string[] = [];
    const handle = { capture: async () => null, modelInput: (w: number, h: number) => camera.source.modelInput(w, h) };
    const loop = startDeviceLoop(handle, runtime, info, HUD, { onResult: (r) => results.push(r), onError: (m) => errors.push(m) });
    for (let i = 0; i < 500 && results.length < mockFrames.length && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    loop.stop();
    camera.stop();
    camera.source.dispose();
    expect(errors).toEqual([]);

    // One resizer, made for the letterbox of the upright frame: 160x90 → 640x360 inside 640x480.
    expect(mockResizer.options).toEqual([
      { width: 640, height: 360, channelOrder: 'rgb', dataType: 'float32', scaleMode: 'stretch', pixelLayout: 'planar' },
    ]);
    // Each recorded frame went to the model once, in order, never two at once.
    expect(mockSession.answered).toEqual(mockFrames.map((_, k) => k));
    expect(mockSession.mostAtOnce).toBe(1);
    expect(mockSession.dims.every((d) => d.join() === '1,3,480,640')).toBe(true);
    // Every frame released, taken or not; every GPU frame released.
    expect(camera.frames.every((f) => f.disposed === 1)).toBe(true);
    expect(mockResizer.gpuFrames.every((g) => g.disposed)).toBe(true);
    // The frames the model was too busy for were dropped and counted.
    const skipped = camera.gate.skipped.getBlocking();
    expect(skipped).toBeGreaterThan(0);
    expect(results[results.length - 1].skippedFrames).toBeLessThanOrEqual(skipped);

    let ttcs = 0;
    results.forEach((r, k) => {
      const expected = mockFrames[k];
      expect([r.frame.width, r.frame.height]).toEqual([FRAME_W, FRAME_H]);
      expectBoxesClose(
        r.frame.detections.map((d) => [...d.box, d.score, d.classId, d.trackId]),
        expected.tracked,
      );
      if (expected.lead === null) return expect(r.frame.lead).toBeNull();
      const lead = r.frame.lead!;
      expect([lead.trackId, lead.className, lead.warning]).toEqual([expected.lead.track_id, expected.lead.class, expected.lead.warning]);
      expect(Math.abs(lead.distanceM! / expected.lead.distance_m! - 1)).toBeLessThan(1e-4);
      if (expected.lead.ttc_s === null) return expect(lead.ttcS).toBeNull();
      ttcs += 1;
      expect(Math.abs(lead.ttcS! / expected.lead.ttc_s - 1)).toBeLessThan(0.01);
    });
    expect(ttcs).toBeGreaterThanOrEqual(2);
  }, 30000);
});

describe('the camera thread', () => {
  function setup() {
    const gate: FrameGate = { wanted: shared(false), skipped: shared(0) };
    let sized: SizedResizer | undefined;
    const source = new NativeFrameSource(gate, createResizer, (s) => (sized = s));
    const feed = (frame: MockFrame) => frameProcessor(sized, gate, source.receive)(frame as unknown as Frame);
    const hop = () => new Promise((r) => setTimeout(r, 5));
    return { gate, source, feed, hop, current: () => sized };
  }

  it('drops frames no one waits for and takes the newest once asked (latest frame wins)', async () => {
    const { gate, source, feed, hop } = setup();
    const early = [0, 1, 2].map((t) => cameraFrame(IMAGES[0], t, 'up'));
    early.forEach(feed);
    expect(gate.skipped.getBlocking()).toBe(3);
    expect(early.every((f) => f.disposed === 1)).toBe(true);
    expect(mockResizer.resized).toHaveLength(0);

    const asked = source.modelInput(640, 480);
    await expect(source.modelInput(640, 480)).rejects.toThrow('already on its way');
    feed(cameraFrame(IMAGES[0], 3, 'up')); // reports its size: the resizer is made
    await hop();
    const newest = cameraFrame(IMAGES[1], 4, 'up');
    feed(newest);
    const input = await asked;
    expect([input.width, input.height, input.timeS, input.skippedFrames]).toEqual([FRAME_W, FRAME_H, 4, 3]);
    expect(mockResizer.resized).toEqual([newest]);
    expect(mockRecognise(input.input)).toBe(1);
    feed(cameraFrame(IMAGES[2], 5, 'up')); // nothing asked any more
    expect(gate.skipped.getBlocking()).toBe(4);
  });

  it('says so when the camera delivers frames the resizer cannot read', async () => {
    const { source, feed, hop } = setup();
    const failed = expect(source.modelInput(640, 480)).rejects.toThrow(
      'the camera delivers rgb-bgra-8-bit frames; the resizer needs yuv-420-8-bit-full',
    );
    const frame = cameraFrame(IMAGES[0], 0, 'up', 'rgb-bgra-8-bit');
    feed(frame);
    await hop();
    await failed;
    expect(frame.disposed).toBe(1);
    expect(mockResizer.resized).toHaveLength(0);
  });

  it('turns a failing GPU resize into one clear error, and releases the frame', async () => {
    const { source, feed, hop, current } = setup();
    const first = source.modelInput(640, 480);
    feed(cameraFrame(IMAGES[0], 0, 'up'));
    await hop();
    feed(cameraFrame(IMAGES[0], 1, 'up'));
    await first;
    current()!.resizer.dispose(); // e.g. torn down while the camera thread still held it
    const failed = expect(source.modelInput(640, 480)).rejects.toThrow(
      'the GPU resizer failed: This Resizer has already been disposed!',
    );
    const frame = cameraFrame(IMAGES[1], 2, 'up');
    feed(frame);
    await hop();
    await failed;
    expect(frame.disposed).toBe(1);
  });

  it('keeps its resizer when the phone turns, makes a new one for a new frame size', async () => {
    const { source, feed, hop } = setup();
    const take = async (frame: MockFrame, again: MockFrame) => {
      const asked = source.modelInput(640, 480);
      feed(frame);
      await hop();
      feed(again);
      return asked;
    };
    expect(mockRecognise((await take(cameraFrame(IMAGES[0], 0, 'up'), cameraFrame(IMAGES[0], 1, 'up'))).input)).toBe(0);
    // A sideways buffer of the same upright size: the same resizer, no size report needed.
    const asked = source.modelInput(640, 480);
    feed(cameraFrame(IMAGES[1], 2, 'right'));
    expect(mockRecognise((await asked).input)).toBe(1);
    // A 4:3 camera: the frame fills the input, a new resizer replaces the old one.
    const square = { ...cameraFrame(IMAGES[0], 3, 'up'), width: 120, height: 90, rgb: new Uint8Array(120 * 90 * 3) };
    const input = await take(square, { ...square, timestamp: 4, disposed: 0 });
    expect([input.width, input.height]).toEqual([120, 90]);
    expect(mockResizer.options.map((o) => [o.width, o.height])).toEqual([[640, 360], [640, 480]]);
    // The old one stays usable until the camera thread has the new worklet: disposed later.
    expect(mockResizer.disposed).toBe(0);
    source.dispose();
    expect(mockResizer.disposed).toBe(2);
  });
});

describe('the letterbox around the resized frame', () => {
  it.each(golden.letterbox.map((c) => [c.frame.join('x'), c] as const))('asks the resizer for Ultralytics’ inner size for a %s frame', (_, c) => {
    const lb = letterbox(c.frame[0], c.frame[1], 640, 480);
    const options = resizerOptions(lb);
    expect([options.width, options.height]).toEqual(c.resized);
    const planes = new Float32Array(3 * options.width * options.height).map((_, i) => (i % 7) / 7);
    const input = letterboxedPlanes(planes, lb, 640, 480);
    const [padX, padY] = c.pad;
    const plane = 640 * 480;
    for (let ch = 0; ch < 3; ch++) {
      const first = ch * options.width * options.height;
      expect(input[ch * plane + padY * 640 + padX]).toBe(planes[first]);
      const last = first + options.width * options.height - 1;
      expect(input[ch * plane + (padY + options.height - 1) * 640 + padX + options.width - 1]).toBe(planes[last]);
      if (padX + padY > 0) expect(input[ch * plane]).toBeCloseTo(114 / 255, 6); // grey bar
    }
  });

  it('refuses a buffer of the wrong size', () => {
    const lb = letterbox(640, 360, 640, 480);
    expect(() => letterboxedPlanes(new Float32Array(10), lb, 640, 480)).toThrow('expected 3×640×360');
  });
});
