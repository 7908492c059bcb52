/** The camera as the HUD screen uses it, on the web and on the phone. */
import type { CapturedFrame } from '../modes/types';

/** The current frame letterboxed into the model's input tensor. */
export interface ModelInput {
  input: Float32Array;
  /** Size of the camera frame the boxes map back to. */
  width: number;
  height: number;
  /** When the camera took the frame, in seconds (monotonic); absent where it is not known. */
  timeS?: number;
  /** Frames the camera delivered so far that were dropped because the model was busy. */
  skippedFrames?: number;
}

export interface CameraHandle {
  /** The current frame, at most `maxWidth` wide; null until the camera runs. */
  capture(maxWidth: number): Promise<CapturedFrame | null>;
  /** The current frame as the student's [1, 3, inputHeight, inputWidth] input. */
  modelInput(inputWidth: number, inputHeight: number): Promise<ModelInput | null>;
}

export interface CameraViewProps {
  onReady(handle: CameraHandle): void;
  onError(message: string): void;
}
