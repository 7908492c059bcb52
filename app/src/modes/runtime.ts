/**
 * The student on the phone: ONNX Runtime for React Native with its CoreML execution provider
 * (the Neural Engine where CoreML places the graph, CPU for the rest) — one ONNX file for the
 * web and iOS, a library its maintainers build, no Swift of ours.
 */
import { File, Paths } from 'expo-file-system';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-react-native';

import type { ModelInfo, Tensor } from '../hud';
import type { ModelRuntime } from './ondevice';

export async function createRuntime(
  info: ModelInfo,
  model: string | Uint8Array,
  _assetsBase: string,
): Promise<ModelRuntime> {
  const path = typeof model === 'string' ? model : writeDownloaded(model, info.version);
  const session = await InferenceSession.create(path, {
    executionProviders: [{ name: 'coreml', useCPUAndGPU: false }, 'cpu'],
    graphOptimizationLevel: 'all',
  });
  const [height, width] = info.inputSize;
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  return {
    name: 'ONNX Runtime (CoreML)',
    async run(input: Float32Array): Promise<Tensor> {
      const output = (await session.run({ [inputName]: new OrtTensor('float32', input, [1, 3, height, width]) }))[outputName];
      return { data: output.data as Float32Array, dims: output.dims };
    },
  };
}

/** A student fetched over the air, kept in the cache folder under its version. */
function writeDownloaded(bytes: Uint8Array, version: string): string {
  const file = new File(Paths.cache, `model-${version}.onnx`);
  if (!file.exists) {
    file.create();
    file.write(bytes);
  }
  return file.uri;
}
