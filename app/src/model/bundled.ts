/** The student that ships with the app: `public/model/` (written by `edgedistill export-app`). */
import { type ModelInfo, parseModelInfo } from '../hud';

export interface BundledModel {
  info: ModelInfo;
  url: string;
}

/** Where the web app is served from, so that public files resolve under any base path. */
export function assetsBase(): string {
  return new URL('.', globalThis.location?.href ?? 'http://localhost/').href;
}

export async function loadBundledModel(fetchImpl: typeof fetch = fetch): Promise<BundledModel> {
  const base = assetsBase();
  const response = await fetchImpl(new URL('model/model.json', base).href);
  if (!response.ok) {
    throw new Error('no student in the app: run `edgedistill export-app` and rebuild it');
  }
  const info = parseModelInfo(await response.json());
  return { info, url: new URL(`model/${info.files.onnx?.path ?? 'model.onnx'}`, base).href };
}
