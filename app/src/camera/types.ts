/** The camera as the HUD screen uses it, on the web and on the phone. */
import type { CapturedFrame } from '../modes/types';

export interface CameraHandle {
  /** The current frame, at most `maxWidth` wide; null until the camera runs. */
  capture(maxWidth: number): Promise<CapturedFrame | null>;
  /** The current frame letterboxed into the model input as RGBA (web on-device mode). */
  letterboxed?(inputWidth: number, inputHeight: number): { rgba: Uint8ClampedArray; width: number; height: number } | null;
}

export interface CameraViewProps {
  onReady(handle: CameraHandle): void;
  onError(message: string): void;
}
