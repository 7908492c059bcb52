/**
 * onnxruntime-web (WASM) in the browser. Its browser build is served from /ort/
 * (scripts/copy-ort.js) and loaded as a script, outside Metro's bundle.
 */
import type * as Ort from 'onnxruntime-web';

import type { ModelInfo, Tensor } from '../hud';
import type { ModelRuntime } from './ondevice';

declare global {
  // eslint-disable-next-line no-var
  var ort: typeof Ort | undefined;
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`cannot load onnxruntime-web from ${src}`));
    document.head.appendChild(script);
  });
}

/** `model` is the ONNX file's URL or bytes; `assetsBase` the URL the web app is served from. */
export async function createRuntime(
  info: ModelInfo,
  model: string | Uint8Array,
  assetsBase: string,
): Promise<ModelRuntime> {
  const base = new URL('ort/', assetsBase).href;
  if (!globalThis.ort) await loadScript(`${base}ort.wasm.min.js`);
  const ort = globalThis.ort as typeof Ort;
  ort.env.wasm.wasmPaths = base;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  const options = { executionProviders: ['wasm'] };
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  const [height, width] = info.inputSize;
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  return {
    name: `onnxruntime-web ${ort.env.versions?.web ?? ''} (wasm, ${ort.env.wasm.numThreads} thread)`,
    async run(input: Float32Array): Promise<Tensor> {
      const feeds = { [inputName]: new ort.Tensor('float32', input, [1, 3, height, width]) };
      const output = (await session.run(feeds))[outputName];
      return { data: output.data as Float32Array, dims: output.dims };
    },
  };
}
