/**
 * The letterbox between a camera frame and the model input, with Ultralytics' rounding
 * (LetterBox and ops.scale_boxes), so that boxes land on the same pixels as in Python.
 */
import { pyRound } from './pyround';
import type { Box } from './types';

export interface Letterbox {
  /** Size of the resized frame inside the model input. */
  resizedWidth: number;
  resizedHeight: number;
  /** Left and top padding in model-input pixels. */
  padX: number;
  padY: number;
  gainX: number;
  gainY: number;
}

/** The letterbox that fits a `frameWidth`×`frameHeight` frame into the model input. */
export function letterbox(
  frameWidth: number,
  frameHeight: number,
  inputWidth: number,
  inputHeight: number,
): Letterbox {
  const gain = Math.min(inputHeight / frameHeight, inputWidth / frameWidth);
  const resizedWidth = Math.max(pyRound(frameWidth * gain), 1);
  const resizedHeight = Math.max(pyRound(frameHeight * gain), 1);
  return {
    resizedWidth,
    resizedHeight,
    padX: pyRound((inputWidth - resizedWidth) / 2 - 0.1),
    padY: pyRound((inputHeight - resizedHeight) / 2 - 0.1),
    gainX: resizedWidth / frameWidth,
    gainY: resizedHeight / frameHeight,
  };
}

/** A box in model-input pixels mapped back to the frame, clipped to it. */
export function toFrame(box: Box, lb: Letterbox, frameWidth: number, frameHeight: number): Box {
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [
    clip((box[0] - lb.padX) / lb.gainX, frameWidth),
    clip((box[1] - lb.padY) / lb.gainY, frameHeight),
    clip((box[2] - lb.padX) / lb.gainX, frameWidth),
    clip((box[3] - lb.padY) / lb.gainY, frameHeight),
  ];
}
