/**
 * The phone's camera frames into the student's input, through VisionCamera frame processors.
 *
 * Camera thread (a worklet, `frameProcessor`): a frame is taken only while the JS thread is
 * waiting for one, so at most one frame is in flight and the frame taken is always the newest
 * (latest frame wins); every other frame is counted as skipped and released at once. A taken
 * frame is resized on the GPU by react-native-vision-camera-resizer — upright, straight to the
 * letterbox's inner size, as planar float RGB — copied out, and handed to the JS thread.
 *
 * JS thread (`NativeFrameSource`): makes the resizer for the frame size the camera delivers,
 * places the resized planes in Ultralytics' grey letterbox (the [1, 3, H, W] tensor
 * onnxruntime-react-native runs) and answers the device loop's `modelInput()`.
 */
import type { CameraOrientation, Frame } from 'react-native-vision-camera';
import type { GPUFrame, Resizer, ResizerOptions } from 'react-native-vision-camera-resizer';
import { type Synchronizable, scheduleOnRN } from 'react-native-worklets';

import { type Letterbox, letterbox } from '../hud';
import { letterboxedPlanes, resizerOptions } from './letterboxInput';
import type { ModelInput } from './types';

/** The only pixel format the resizer reads on iOS (the frame output's `pixelFormat: 'yuv'`). */
export const RESIZER_PIXEL_FORMAT = 'yuv-420-8-bit-full';

/** What is used of react-native-worklets' Synchronizable: a value both threads read and write. */
export type Shared<T> = Pick<Synchronizable<T>, 'getBlocking' | 'setBlocking'>;

/** The two values the camera thread and the JS thread share. */
export interface FrameGate {
  /** The JS thread waits for a frame. */
  wanted: Shared<boolean>;
  /** Frames the camera delivered while none was wanted. */
  skipped: Shared<number>;
}

/** A resizer and the letterbox (upright frame into model input) it was made for. */
export interface SizedResizer {
  resizer: Resizer;
  frameWidth: number;
  frameHeight: number;
  inputWidth: number;
  inputHeight: number;
  letterbox: Letterbox;
}

/** What the camera thread hands the JS thread. */
export type FrameTake =
  | { kind: 'frame'; pixels: ArrayBuffer; width: number; height: number; frameWidth: number; frameHeight: number; timeS: number }
  | { kind: 'size'; frameWidth: number; frameHeight: number }
  | { kind: 'error'; message: string };

/** The frame's size once turned upright (the resizer applies the orientation). */
export function uprightSize(width: number, height: number, orientation: CameraOrientation): [number, number] {
  'worklet';
  return orientation === 'left' || orientation === 'right' ? [height, width] : [width, height];
}

/** One camera frame on the camera thread: taken (resized and copied), or skipped; always released. */
export function takeFrame(frame: Frame, sized: SizedResizer | undefined, gate: FrameGate): FrameTake | null {
  'worklet';
  try {
    if (!gate.wanted.getBlocking()) {
      gate.skipped.setBlocking(gate.skipped.getBlocking() + 1);
      return null;
    }
    if (frame.pixelFormat !== RESIZER_PIXEL_FORMAT) {
      gate.wanted.setBlocking(false);
      return { kind: 'error', message: `the camera delivers ${frame.pixelFormat} frames; the resizer needs ${RESIZER_PIXEL_FORMAT}` };
    }
    const [frameWidth, frameHeight] = uprightSize(frame.width, frame.height, frame.orientation);
    if (!sized || sized.frameWidth !== frameWidth || sized.frameHeight !== frameHeight) {
      return { kind: 'size', frameWidth, frameHeight };
    }
    gate.wanted.setBlocking(false);
    let resized: GPUFrame;
    try {
      resized = sized.resizer.resize(frame);
    } catch (e) {
      return { kind: 'error', message: `the GPU resizer failed: ${(e as Error).message}` };
    }
    try {
      // The GPU buffer is only valid until dispose(): copy it before handing it over.
      const pixels = resized.getPixelBuffer().slice(0);
      return { kind: 'frame', pixels, width: resized.width, height: resized.height, frameWidth, frameHeight, timeS: frame.timestamp };
    } finally {
      resized.dispose();
    }
  } finally {
    frame.dispose();
  }
}

/** The frame output's `onFrame` worklet: takes what is wanted and hops to the JS thread with it. */
export function frameProcessor(
  sized: SizedResizer | undefined,
  gate: FrameGate,
  deliver: (take: FrameTake) => void,
): (frame: Frame) => void {
  return (frame: Frame) => {
    'worklet';
    const take = takeFrame(frame, sized, gate);
    if (take) scheduleOnRN(deliver, take);
  };
}

interface Pending {
  inputWidth: number;
  inputHeight: number;
  resolve(input: ModelInput): void;
  reject(error: Error): void;
}

/**
 * The JS-thread side: `modelInput()` asks the camera thread for its next frame; `receive()` is
 * what the camera thread calls (through `scheduleOnRN`). `installResizer` hands a new resizer to
 * the frame processor (the component re-creates its worklet with it).
 */
export class NativeFrameSource {
  private pending: Pending | null = null;
  private sized: SizedResizer | undefined;
  private making: string | null = null;
  private retired: Resizer | undefined;

  constructor(
    private readonly gate: FrameGate,
    private readonly createResizer: (options: ResizerOptions) => Promise<Resizer>,
    private readonly installResizer: (sized: SizedResizer | undefined) => void,
  ) {}

  /** Frames the camera delivered that no one waited for (dropped: the model was busy). */
  get skipped(): number {
    return this.gate.skipped.getBlocking();
  }

  /** The next camera frame as the student's input; one request at a time. */
  modelInput(inputWidth: number, inputHeight: number): Promise<ModelInput> {
    if (this.pending) return Promise.reject(new Error('a camera frame is already on its way'));
    if (this.sized && (this.sized.inputWidth !== inputWidth || this.sized.inputHeight !== inputHeight)) {
      this.replaceResizer(undefined); // another student: another letterbox
    }
    return new Promise((resolve, reject) => {
      this.pending = { inputWidth, inputHeight, resolve, reject };
      this.gate.wanted.setBlocking(true);
    });
  }

  /** Runs on the JS thread with what the frame processor took. */
  receive = (take: FrameTake): void => {
    const pending = this.pending;
    if (!pending) return;
    if (take.kind === 'error') return this.settle((p) => p.reject(new Error(take.message)));
    if (take.kind === 'size') return this.makeResizer(take.frameWidth, take.frameHeight, pending);
    const lb = this.sized?.letterbox;
    if (!lb || take.width !== lb.resizedWidth || take.height !== lb.resizedHeight) {
      this.gate.wanted.setBlocking(true); // resized for an older size: take the next frame
      return;
    }
    const input = letterboxedPlanes(new Float32Array(take.pixels), lb, pending.inputWidth, pending.inputHeight);
    this.settle((p) =>
      p.resolve({ input, width: take.frameWidth, height: take.frameHeight, timeS: take.timeS, skippedFrames: this.skipped }),
    );
  };

  /** Lets go of the resizer and fails a waiting request. */
  dispose(): void {
    this.gate.wanted.setBlocking(false);
    this.settle((p) => p.reject(new Error('the camera stopped')));
    this.replaceResizer(undefined);
    this.retired?.dispose();
    this.retired = undefined;
  }

  private settle(done: (pending: Pending) => void): void {
    const pending = this.pending;
    this.pending = null;
    if (pending) done(pending);
  }

  private makeResizer(frameWidth: number, frameHeight: number, pending: Pending): void {
    const key = `${frameWidth}x${frameHeight}>${pending.inputWidth}x${pending.inputHeight}`;
    const sized = this.sized;
    const current = sized && `${sized.frameWidth}x${sized.frameHeight}>${sized.inputWidth}x${sized.inputHeight}`;
    // The camera reports the size on every frame until its worklet has the resizer.
    if (this.making === key || current === key) return;
    this.making = key;
    const lb = letterbox(frameWidth, frameHeight, pending.inputWidth, pending.inputHeight);
    this.createResizer(resizerOptions(lb)).then(
      (resizer) => {
        this.making = null;
        const { inputWidth, inputHeight } = pending;
        this.replaceResizer({ resizer, frameWidth, frameHeight, inputWidth, inputHeight, letterbox: lb });
      },
      (e: Error) => {
        this.making = null;
        this.gate.wanted.setBlocking(false);
        this.settle((p) => p.reject(new Error(`the GPU resizer could not be made: ${e.message}`)));
      },
    );
  }

  /**
   * The camera thread may still hold the current resizer until the component has installed the
   * new worklet, so a replaced resizer is disposed one replacement later (or on dispose()).
   */
  private replaceResizer(sized: SizedResizer | undefined): void {
    this.retired?.dispose();
    this.retired = this.sized?.resizer;
    this.sized = sized;
    this.installResizer(sized);
  }
}
