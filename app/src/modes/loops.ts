/**
 * The three modes as loops that pull camera frames and push HUD frames. Each keeps its own
 * pace: on-device as fast as the model allows up to the target rate, the server at the target
 * rate with its in-flight limit, Roboflow at the rate the driver pays for.
 */
import type { CameraHandle } from '../camera/types';
import { HudPipeline, type ModelInfo, type HudSettings } from '../hud';
import { toBase64 } from './base64';
import type { ModelRuntime } from './ondevice';
import { RoboflowClient, type RoboflowSettings } from './roboflow';
import { ServerClient } from './server';
import type { ModeResult } from './types';

export interface LoopResult extends ModeResult {
  names: readonly string[];
  /** Dollars spent so far (Roboflow). */
  costUsd?: number;
  /** Camera frames dropped so far because the model was busy (on-device, iOS). */
  skippedFrames?: number;
}

export interface LoopEvents {
  onResult(result: LoopResult): void;
  onError(message: string): void;
}

export interface ModeLoop {
  stop(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_CAPTURE_WIDTH = 640; // 480p frames

export function startDeviceLoop(
  camera: CameraHandle,
  runtime: ModelRuntime,
  info: ModelInfo,
  settings: HudSettings,
  events: LoopEvents,
): ModeLoop {
  let running = true;
  const pipeline = new HudPipeline({ names: info.names, inputSize: info.inputSize, settings, frameRate: settings.targetFps });
  const [inputHeight, inputWidth] = info.inputSize;
  const period = 1000 / settings.targetFps;
  void (async () => {
    while (running) {
      const started = performance.now();
      try {
        const frame = await camera.modelInput(inputWidth, inputHeight);
        if (!frame) {
          await sleep(50);
          continue;
        }
        const inferring = performance.now();
        const output = await runtime.run(frame.input);
        const modelMs = performance.now() - inferring;
        const hud = pipeline.fromTensor(output, frame.width, frame.height, frame.timeS ?? started / 1000);
        const latencyMs = performance.now() - started;
        events.onResult({ frame: hud, names: info.names, latencyMs, modelMs, skippedFrames: frame.skippedFrames });
      } catch (e) {
        events.onError(`the model failed on a frame: ${(e as Error).message}`);
        await sleep(1000);
      }
      await sleep(Math.max(0, period - (performance.now() - started)));
    }
  })();
  return { stop: () => (running = false) };
}

export function startServerLoop(
  camera: CameraHandle,
  client: ServerClient,
  settings: HudSettings,
  events: LoopEvents,
): ModeLoop {
  const pipeline = new HudPipeline({ names: [], inputSize: [480, 640], settings, frameRate: settings.targetFps });
  const captured = new Map<number, number>();
  client.onAnswer = (answer) => {
    const timeS = captured.get(answer.frameId) ?? performance.now() / 1000;
    for (const id of [...captured.keys()]) if (id <= answer.frameId) captured.delete(id);
    const hud = pipeline.withLead(answer.detections, answer.width, answer.height, timeS, answer.names);
    events.onResult({ frame: hud, names: answer.names, latencyMs: answer.roundTripMs, modelMs: answer.modelMs });
  };
  client.onError = events.onError;
  const timer = setInterval(async () => {
    const frame = await camera.capture(MAX_CAPTURE_WIDTH);
    if (!frame) return;
    const id = client.send(await frame.jpeg());
    captured.set(id, frame.timeS);
  }, 1000 / settings.targetFps);
  return {
    stop() {
      clearInterval(timer);
      client.close();
    },
  };
}

export function startRoboflowLoop(
  camera: CameraHandle,
  roboflow: RoboflowSettings,
  settings: HudSettings,
  events: LoopEvents,
  fetchImpl: typeof fetch = fetch,
): ModeLoop {
  let running = true;
  const client = new RoboflowClient(roboflow, fetchImpl);
  const pipeline = new HudPipeline({ names: [], inputSize: [480, 640], settings, frameRate: roboflow.fps });
  void (async () => {
    while (running) {
      if (!client.ready()) {
        await sleep(20);
        continue;
      }
      const frame = await camera.capture(MAX_CAPTURE_WIDTH);
      if (!frame) {
        await sleep(50);
        continue;
      }
      try {
        const answer = await client.detect(toBase64(await frame.jpeg()));
        const hud = pipeline.fromDetections(answer.detections, frame.width, frame.height, frame.timeS, answer.names);
        events.onResult({ frame: hud, names: answer.names, latencyMs: answer.roundTripMs, costUsd: client.meter.usd });
      } catch (e) {
        events.onError((e as Error).message);
        await sleep(2000);
      }
    }
  })();
  return { stop: () => (running = false) };
}
