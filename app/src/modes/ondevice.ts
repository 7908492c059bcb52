/**
 * "On this device": the student runs where the app runs. A `ModelRuntime` turns the
 * letterboxed input into the raw output; the HUD core does the rest. The web build's runtime
 * is onnxruntime-web (runtime.web.ts); the iOS runtime plugs in here (runtime.ts).
 */
import type { ModelInfo, Tensor } from '../hud';

export interface ModelRuntime {
  readonly name: string;
  /** Runs one [1, 3, height, width] float input in 0..1, RGB. */
  run(input: Float32Array): Promise<Tensor>;
}

/** Loads the runtime for this platform; rejects with one sentence where there is none. */
export type RuntimeFactory = (info: ModelInfo, model: string | Uint8Array, assetsBase: string) => Promise<ModelRuntime>;
