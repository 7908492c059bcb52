/**
 * A newer student over the air: `GET {server}/model` (edgedistill serve) describes the
 * model it serves — version, model.json, file URL and SHA-256. The app downloads it only when
 * the version differs from the one it has, checks the checksum, and otherwise keeps the
 * bundled model.
 */
import { type ModelInfo, parseModelInfo } from '../hud';
import { sha256Hex } from './sha256';

export interface ModelOffer {
  version: string;
  sha256: string;
  url: string;
  model: unknown;
}

export interface FetchedModel {
  info: ModelInfo;
  bytes: Uint8Array;
}

export function modelEndpoint(server: string, apiKey: string): string {
  const url = new URL(server.includes('://') ? server : `http://${server}`);
  url.protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
  url.pathname = `${url.pathname.replace(/\/(ws)?\/?$/, '')}/model`;
  url.searchParams.set('api_key', apiKey);
  return url.toString();
}

/** The server's student if it is newer than `current`; null when it is the same one. */
export async function fetchNewerModel(
  server: string,
  apiKey: string,
  current: ModelInfo | null,
  fetchImpl: typeof fetch = fetch,
  hash: (bytes: Uint8Array) => Promise<string> = sha256Hex,
): Promise<FetchedModel | null> {
  const endpoint = modelEndpoint(server, apiKey);
  const response = await fetchImpl(endpoint);
  if (response.status === 401) throw new Error('the server refused the key for GET /model');
  if (response.status === 404) throw new Error('this server offers no app model (GET /model)');
  if (!response.ok) throw new Error(`GET /model answered HTTP ${response.status}`);
  const offer = (await response.json()) as ModelOffer;
  if (current && offer.version === current.version) return null;
  const info = parseModelInfo(offer.model);
  const file = await fetchImpl(new URL(offer.url, endpoint).toString());
  if (!file.ok) throw new Error(`downloading the model answered HTTP ${file.status}`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const checksum = await hash(bytes);
  if (checksum !== offer.sha256) {
    throw new Error(`the downloaded model's checksum does not match (${checksum.slice(0, 12)}…); keeping the bundled model`);
  }
  return { info, bytes };
}
