/**
 * HUD settings and the model description the app ships with (`assets/model/model.json`,
 * written by `edgedistill export -f app`). Defaults mirror `HudConfig` in config.py.
 */
import type { OutputFormat } from './decode';

export interface HudSettings {
  conf: number;
  iou: number;
  horizontalFovDeg: number;
  vehicleWidthsM: Record<string, number>;
  ttcWarningS: number;
  ttcWindowS: number;
  /** The lane ahead as (x, y) shares of the frame. */
  egoZone: [number, number][];
  /** The car's own hood or dashboard as (x, y) shares of the frame; [] for none. */
  egoMask: [number, number][];
  /** A box in the lane closer than this is refused as the lead unless its track was seen farther first. */
  minLeadDistanceM: number;
  targetFps: number;
}

export const HUD_DEFAULTS: HudSettings = {
  conf: 0.25,
  iou: 0.7,
  horizontalFovDeg: 64,
  vehicleWidthsM: {
    car: 1.8,
    'police car': 1.9,
    van: 2.0,
    ambulance: 2.1,
    truck: 2.5,
    'fire truck': 2.5,
    bus: 2.55,
    'school bus': 2.4,
    motorcycle: 0.8,
    'police motorcycle': 0.8,
    bicycle: 0.6,
    cyclist: 0.6,
    scooter: 0.6,
  },
  ttcWarningS: 2,
  ttcWindowS: 1,
  egoZone: [
    [0.42, 0.55],
    [0.58, 0.55],
    [0.85, 1.0],
    [0.15, 1.0],
  ],
  egoMask: [],
  minLeadDistanceM: 3,
  targetFps: 15,
};

/** What `model.json` says about the student. */
export interface ModelInfo {
  version: string;
  names: string[];
  /** Model input as [height, width]. */
  inputSize: [number, number];
  outputFormat: OutputFormat;
  /** Output dims, e.g. [1, 300, 6] or [1, 84, 6300]. */
  outputShape: number[];
  files: Record<string, { path: string; sha256: string; bytes: number }>;
  hud: HudSettings;
}

/** Reads a parsed `model.json`; a missing or mistyped field is one sentence. */
export function parseModelInfo(raw: unknown): ModelInfo {
  const value = raw as Record<string, unknown>;
  const fail = (what: string): never => {
    throw new Error(`model.json: ${what}`);
  };
  if (!value || typeof value !== 'object') fail('not a JSON object');
  if (!Array.isArray(value.names) || !value.names.every((n) => typeof n === 'string'))
    fail('"names" must be a list of class names');
  const size = value.input_size;
  if (!Array.isArray(size) || size.length !== 2) fail('"input_size" must be [height, width]');
  if (value.output_format !== 'end2end' && value.output_format !== 'yolo')
    fail('"output_format" must be "end2end" or "yolo"');
  const hud = (value.hud ?? {}) as Record<string, unknown>;
  return {
    version: String(value.version ?? '0'),
    names: value.names as string[],
    inputSize: [Number((size as number[])[0]), Number((size as number[])[1])],
    outputFormat: value.output_format as OutputFormat,
    outputShape: (value.output_shape as number[]) ?? [],
    files: (value.files as ModelInfo['files']) ?? {},
    hud: {
      conf: num(value.conf, HUD_DEFAULTS.conf),
      iou: num(value.iou, HUD_DEFAULTS.iou),
      horizontalFovDeg: num(hud.horizontal_fov_deg, HUD_DEFAULTS.horizontalFovDeg),
      vehicleWidthsM:
        (hud.vehicle_widths_m as Record<string, number>) ?? HUD_DEFAULTS.vehicleWidthsM,
      ttcWarningS: num(hud.ttc_warning_s, HUD_DEFAULTS.ttcWarningS),
      ttcWindowS: num(hud.ttc_window_s, HUD_DEFAULTS.ttcWindowS),
      egoZone: (hud.ego_zone as [number, number][]) ?? HUD_DEFAULTS.egoZone,
      egoMask: Array.isArray(hud.ego_mask) ? (hud.ego_mask as [number, number][]) : [],
      minLeadDistanceM: num(hud.min_lead_distance_m, HUD_DEFAULTS.minLeadDistanceM),
      targetFps: num(hud.target_fps, HUD_DEFAULTS.targetFps),
    },
  };
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
