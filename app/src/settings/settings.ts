/** The driver's choices, remembered between launches. Keys live apart, in secure storage. */
import { HUD_DEFAULTS } from '../hud';
import type { ModeName } from '../modes/types';

export interface AppSettings {
  mode: ModeName;
  serverUrl: string;
  /** Ask the server for a newer student at start (GET /model), else use the bundled one. */
  updateModelFromServer: boolean;
  roboflowWorkspace: string;
  roboflowWorkflow: string;
  roboflowFps: number;
  conf: number;
  horizontalFovDeg: number;
  targetFps: number;
}

export interface Secrets {
  serverKey: string;
  roboflowKey: string;
}

export const DEFAULT_SETTINGS: AppSettings = {
  mode: 'device',
  serverUrl: '',
  updateModelFromServer: false,
  roboflowWorkspace: '',
  roboflowWorkflow: '',
  roboflowFps: 2,
  conf: HUD_DEFAULTS.conf,
  horizontalFovDeg: HUD_DEFAULTS.horizontalFovDeg,
  targetFps: HUD_DEFAULTS.targetFps,
};

const MODES: ModeName[] = ['device', 'server', 'roboflow'];

/** Stored settings over the defaults; anything malformed falls back to its default. */
export function mergeSettings(stored: unknown): AppSettings {
  const value = (stored && typeof stored === 'object' ? stored : {}) as Record<string, unknown>;
  const out: AppSettings = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof AppSettings)[]) {
    if (typeof value[key] === typeof DEFAULT_SETTINGS[key]) (out as unknown as Record<string, unknown>)[key] = value[key];
  }
  if (!MODES.includes(out.mode)) out.mode = DEFAULT_SETTINGS.mode;
  out.conf = clamp(out.conf, 0.05, 0.95);
  out.roboflowFps = clamp(out.roboflowFps, 0.2, 15);
  out.targetFps = clamp(out.targetFps, 1, 30);
  out.horizontalFovDeg = clamp(out.horizontalFovDeg, 20, 160);
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(Math.max(v, lo), hi) : lo;
}

/** Web only: `?mode=server&server=…&key=…&update=1` links prefill settings (tests, a shared link). */
export function fromQuery(search: string, settings: AppSettings, secrets: Secrets): [AppSettings, Secrets] {
  const q = new URLSearchParams(search);
  const next = { ...settings };
  const mode = q.get('mode');
  if (mode && MODES.includes(mode as ModeName)) next.mode = mode as ModeName;
  if (q.get('server')) next.serverUrl = q.get('server')!;
  if (q.get('update') === '1') next.updateModelFromServer = true;
  const nextSecrets = { ...secrets };
  if (q.get('key')) nextSecrets.serverKey = q.get('key')!;
  return [next, nextSecrets];
}
