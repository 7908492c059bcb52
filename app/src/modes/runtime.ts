/**
 * The native on-device runtime. Issue 11 implements it (VisionCamera frame processors into a
 * CoreML-accelerated runtime) behind `ModelRuntime`; until then this says so plainly.
 */
import type { ModelInfo } from '../hud';
import type { ModelRuntime } from './ondevice';

export async function createRuntime(
  _info: ModelInfo,
  _model: string | Uint8Array,
  _assetsBase: string,
): Promise<ModelRuntime> {
  throw new Error('on-device mode on iOS is not built yet: use "My server" or "Roboflow" for now');
}
