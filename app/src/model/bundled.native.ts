/** The student embedded in the iOS app (expo-asset's config plugin, see app.config.js). */
import { File, Paths } from 'expo-file-system';

import { parseModelInfo } from '../hud';
import type { BundledModel } from './bundled';

export function assetsBase(): string {
  return Paths.bundle.uri;
}

export async function loadBundledModel(): Promise<BundledModel> {
  const json = new File(Paths.bundle, 'model.json');
  if (!json.exists) throw new Error('no student in the app: run `edgedistill export-app` and rebuild it');
  const info = parseModelInfo(JSON.parse(await json.text()));
  return { info, url: new File(Paths.bundle, info.files.onnx?.path ?? 'model.onnx').uri };
}
