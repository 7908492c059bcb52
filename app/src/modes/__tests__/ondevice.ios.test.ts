/**
 * @jest-environment node
 *
 * The phone's on-device path end to end with its native modules mocked at their published JS
 * boundaries: a camera still (react-native-nitro-image's Image: resize, raw BGRA pixels) is
 * letterboxed into the input, ONNX Runtime for React Native (InferenceSession, Tensor) answers
 * with the YOLO26 mockStudent's real outputs recorded in Python (golden.json), and the device loop
 * must draw what the Python HUD drew on those frames.
 */
import golden from '../../hud/__tests__/golden.json';
import { stillToModelInput } from '../../camera/nativeInput';
import type { CameraHandle } from '../../camera/types';
import { HUD_DEFAULTS, parseModelInfo } from '../../hud';
import { type LoopResult, startDeviceLoop } from '../loops';
import { createRuntime } from '../runtime';

const mockStudent = golden.students[0];
const mockCalls: { path?: string; options?: unknown; dims: number[][] } = { dims: [] };
let mockNext = 0;

jest.mock(
  'onnxruntime-react-native',
  () => ({
    Tensor: function MockTensor(this: { dims: number[]; data: Float32Array }, _type: string, data: Float32Array, dims: number[]) {
      this.data = data;
      this.dims = dims;
    },
    InferenceSession: {
      create: async (path: string, options: unknown) => {
        mockCalls.path = path;
        mockCalls.options = options;
        return {
          inputNames: ['images'],
          outputNames: ['output0'],
          run: async (feeds: Record<string, { dims: number[]; data: Float32Array }>) => {
            mockCalls.dims.push(feeds.images.dims);
            const frame = mockStudent.frames[mockNext++];
            const data = new Float32Array(300 * 6);
            const raw = frame.raw as { index: number[]; rows: number[][] };
            raw.index.forEach((r, k) => data.set(raw.rows[k], r * 6));
            return { output0: { data, dims: [1, 300, 6] } };
          },
        };
      },
    },
  }),
);
jest.mock('expo-file-system', () => ({ File: class {}, Paths: {} }));

/** A 640x360 still with BGRA rows padded to 2624 bytes, as iOS bitmaps can be. */
function still(width = 640, height = 360) {
  return {
    width,
    height,
    resize: (w: number, h: number) => ({
      toRawPixelDataAsync: async () => {
        const rowBytes = w * 4 + 64;
        const pixels = new Uint8Array(rowBytes * h);
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) pixels.set([10, 20, 200, 255], y * rowBytes + 4 * x); // B, G, R, A
        return { buffer: pixels.buffer, width: w, height: h, pixelFormat: 'BGRA' };
      },
    }),
  };
}

it('letterboxes a BGRA still into the RGB input with grey bars', async () => {
  const { input, width, height } = await stillToModelInput(still(), 640, 480);
  expect([width, height]).toEqual([640, 360]);
  const plane = 640 * 480;
  expect(input[0]).toBeCloseTo(114 / 255); // top bar (60 rows)
  const inside = 100 * 640 + 10;
  expect([input[inside], input[plane + inside], input[2 * plane + inside]].map((v) => Math.round(v * 255))).toEqual([200, 20, 10]);
  expect(input[479 * 640]).toBeCloseTo(114 / 255); // bottom bar
});

it('runs the recorded student through the device loop as the Python HUD did', async () => {
  const info = parseModelInfo({
    version: 'test',
    names: mockStudent.names,
    input_size: [480, 640],
    output_format: 'end2end',
    files: { onnx: { path: 'model.onnx', sha256: '', bytes: 0 } },
  });
  const runtime = await createRuntime(info, 'file:///bundle/model.onnx', 'file:///bundle/');
  expect(mockCalls.path).toBe('file:///bundle/model.onnx');
  expect(JSON.stringify(mockCalls.options)).toContain('coreml');

  let frameIndex = 0;
  const camera: CameraHandle = {
    capture: async () => null,
    modelInput: async (w, h) => (frameIndex < mockStudent.frames.length ? { ...(await stillToModelInput(still(), w, h)), frameIndex: frameIndex++ } : null),
  };
  const results: LoopResult[] = [];
  const settings = { ...HUD_DEFAULTS, targetFps: mockStudent.fps }; // the tracker keeps lost tracks as in Python
  const loop = startDeviceLoop(camera, runtime, info, settings, { onResult: (r) => results.push(r), onError: (m) => { throw new Error(m); } });
  for (let i = 0; i < 1000 && results.length < mockStudent.frames.length; i++) await new Promise((r) => setTimeout(r, 10));
  loop.stop();

  expect(results).toHaveLength(mockStudent.frames.length);
  expect(mockCalls.dims.every((d) => d.join() === '1,3,480,640')).toBe(true);
  results.forEach((r, i) => {
    const expected = mockStudent.frames[i];
    expect(r.frame.detections.map((d) => d.trackId).sort()).toEqual(expected.tracked.map((t) => t[6]).sort());
    expect(r.frame.lead?.trackId ?? null).toBe(expected.lead?.track_id ?? null);
    if (expected.lead?.distance_m) expect(r.frame.lead!.distanceM! / expected.lead.distance_m).toBeCloseTo(1, 3);
  });
});
