/**
 * The GPU resizer's side of the letterbox: what size to resize a camera frame to, and how its
 * planar RGB output becomes the student's [1, 3, H, W] input (Ultralytics' grey 114 around it).
 * Pure; it runs on the JS thread for every frame the student sees.
 */
import type { ResizerOptions } from 'react-native-vision-camera-resizer';

import type { Letterbox } from '../hud/letterbox';
import { PAD_GREY } from '../hud/preprocess';

/** The resizer options for an upright frame: the letterbox's inner size, planar float RGB in 0..1. */
export function resizerOptions(lb: Letterbox): ResizerOptions {
  return {
    width: lb.resizedWidth,
    height: lb.resizedHeight,
    channelOrder: 'rgb',
    dataType: 'float32',
    scaleMode: 'stretch',
    pixelLayout: 'planar',
  };
}

/** Planar RGB of the letterbox's inner size placed in a grey `inputWidth`×`inputHeight` tensor. */
export function letterboxedPlanes(planes: Float32Array, lb: Letterbox, inputWidth: number, inputHeight: number): Float32Array {
  const { resizedWidth: width, resizedHeight: height, padX, padY } = lb;
  if (planes.length !== 3 * width * height) {
    throw new Error(`the resizer gave ${planes.length} values, expected 3×${width}×${height}`);
  }
  const plane = inputWidth * inputHeight;
  const out = new Float32Array(3 * plane).fill(PAD_GREY / 255);
  for (let c = 0; c < 3; c++) {
    const from = c * width * height;
    if (width === inputWidth) {
      out.set(planes.subarray(from, from + width * height), c * plane + padY * inputWidth);
      continue;
    }
    for (let y = 0; y < height; y++) {
      out.set(planes.subarray(from + y * width, from + (y + 1) * width), c * plane + (y + padY) * inputWidth + padX);
    }
  }
  return out;
}
