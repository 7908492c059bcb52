/**
 * "On this device": the student runs where the app runs. A `ModelRuntime` turns the
 * letterboxed input into the raw output; the HUD core does the rest. Each platform's
 * `createRuntime` makes one: onnxruntime-web on the web (runtime.web.ts), ONNX Runtime with
 * CoreML on iOS (runtime.ts).
 */
import type { Tensor } from '../hud';

export interface ModelRuntime {
  readonly name: string;
  /** Runs one [1, 3, height, width] float input in 0..1, RGB. */
  run(input: Float32Array): Promise<Tensor>;
}
