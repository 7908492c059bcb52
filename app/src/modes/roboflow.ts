/**
 * "Roboflow": the user's own workflow on Roboflow's serverless API —
 * POST https://serverless.roboflow.com/{workspace}/workflows/{workflow_id} with
 * {"api_key": …, "inputs": {"image": {"type": "base64", "value": …}}}; the answer's
 * `outputs[0]` holds object-detection predictions (centre boxes). Requests are throttled to
 * `fps` and one at a time; every answer adds its billed seconds to the cost meter.
 *
 * A key on a phone can be extracted from it. Roboflow recommends a server of your own as the
 * proxy: "My server" mode is that.
 */
import type { Detection } from '../hud';
import { CostMeter, billedSeconds } from './cost';

export const ROBOFLOW_URL = 'https://serverless.roboflow.com';
export const KEY_WARNING =
  'A Roboflow key kept on a phone can be extracted from it. Use a key you can revoke, or your own server as the proxy, as Roboflow recommends.';

export interface RoboflowSettings {
  workspace: string;
  workflowId: string;
  apiKey: string;
  fps: number;
  /** Only tests and self-hosted inference servers change this. */
  baseUrl?: string;
}

export interface RoboflowAnswer {
  width: number;
  height: number;
  detections: Detection[];
  names: string[];
  billedS: number;
  roundTripMs: number;
}

interface Prediction {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class: string;
}

const STATUS: Record<number, string> = {
  401: 'Roboflow refused the API key (HTTP 401)',
  403: 'the API key may not run this workflow (HTTP 403)',
  404: 'no such workspace or workflow on Roboflow (HTTP 404)',
  429: 'Roboflow is rate-limiting this key (HTTP 429); lower the frame rate',
};

export class RoboflowClient {
  readonly meter = new CostMeter();
  private readonly names: string[] = [];
  private lastStart = -Infinity;
  private busy = false;

  constructor(
    private readonly settings: RoboflowSettings,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (!settings.workspace || !settings.workflowId) throw new Error('set the Roboflow workspace and workflow id in Settings');
    if (!settings.apiKey) throw new Error('set the Roboflow API key in Settings');
  }

  /** Whether a frame may be sent now: one request at a time, at most `fps` a second. */
  ready(): boolean {
    return !this.busy && this.now() - this.lastStart >= 1000 / this.settings.fps;
  }

  /** Sends one frame as base64 JPEG; an HTTP error is one sentence, the key never in it. */
  async detect(jpegBase64: string): Promise<RoboflowAnswer> {
    this.busy = true;
    this.lastStart = this.now();
    const { workspace, workflowId, apiKey, baseUrl } = this.settings;
    const url = `${baseUrl ?? ROBOFLOW_URL}/${encodeURIComponent(workspace)}/workflows/${encodeURIComponent(workflowId)}`;
    try {
      const response = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ api_key: apiKey, inputs: { image: { type: 'base64', value: jpegBase64 } } }),
      });
      const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
      const wallS = (this.now() - this.lastStart) / 1000;
      if (!response.ok) {
        const detail = typeof body?.message === 'string' ? `: ${body.message.replaceAll(apiKey, '***')}` : '';
        throw new Error(`${STATUS[response.status] ?? `Roboflow answered HTTP ${response.status}`}${detail}`);
      }
      const billed = billedSeconds(response.headers, body, wallS);
      this.meter.add(billed);
      return { ...this.parse(body), billedS: billed, roundTripMs: wallS * 1000 };
    } finally {
      this.busy = false;
    }
  }

  private parse(body: Record<string, unknown> | null): Omit<RoboflowAnswer, 'billedS' | 'roundTripMs'> {
    const output = (body?.outputs as Record<string, unknown>[] | undefined)?.[0];
    const block = Object.values(output ?? {}).find(
      (v) => typeof v === 'object' && v !== null && Array.isArray((v as { predictions?: unknown }).predictions),
    ) as { image?: { width: number; height: number }; predictions: Prediction[] } | undefined;
    if (!block) throw new Error('the workflow answered without object-detection predictions');
    const detections = block.predictions.map((p) => ({
      box: [p.x - p.width / 2, p.y - p.height / 2, p.x + p.width / 2, p.y + p.height / 2] as Detection['box'],
      score: p.confidence,
      classId: this.classId(p.class),
    }));
    return { width: block.image?.width ?? 0, height: block.image?.height ?? 0, detections, names: this.names };
  }

  private classId(name: string): number {
    const found = this.names.indexOf(name);
    if (found >= 0) return found;
    this.names.push(name);
    return this.names.length - 1;
  }
}
