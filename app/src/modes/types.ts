/** What every mode hands the HUD screen, whichever place runs the student. */
import type { HudFrame } from '../hud';

export type ModeName = 'device' | 'server' | 'roboflow';

export interface ModeResult {
  frame: HudFrame;
  /** Capture to answer, in milliseconds. */
  latencyMs: number;
  /** Time in the model itself where the mode knows it. */
  modelMs?: number;
}

/** A captured camera frame, as each mode needs it. */
export interface CapturedFrame {
  width: number;
  height: number;
  /** Capture time in seconds (monotonic). */
  timeS: number;
  /** The frame as a JPEG (server and Roboflow modes). */
  jpeg(): Promise<Uint8Array>;
}
