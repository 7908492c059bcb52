/** A still from the phone camera letterboxed into the student's input (pure: the image is a seam). */
import { letterbox, letterboxedChw, type PixelOrder } from '../hud';
import type { ModelInput } from './types';

/** What is used of react-native-nitro-image's Image. */
export interface StillImage {
  width: number;
  height: number;
  resize(width: number, height: number): {
    toRawPixelDataAsync(): Promise<{ buffer: ArrayBuffer; width: number; height: number; pixelFormat: string }>;
  };
}

const ORDERS: readonly string[] = ['RGBA', 'BGRA', 'ARGB', 'ABGR'];

export async function stillToModelInput(image: StillImage, inputWidth: number, inputHeight: number): Promise<ModelInput> {
  const lb = letterbox(image.width, image.height, inputWidth, inputHeight);
  const raw = await image.resize(lb.resizedWidth, lb.resizedHeight).toRawPixelDataAsync();
  if (!ORDERS.includes(raw.pixelFormat)) throw new Error(`unsupported camera pixel format ${raw.pixelFormat}`);
  const pixels = new Uint8Array(raw.buffer);
  const input = letterboxedChw(
    pixels,
    raw.width,
    raw.height,
    raw.pixelFormat as PixelOrder,
    inputWidth,
    inputHeight,
    lb.padX,
    lb.padY,
    pixels.length / raw.height,
  );
  return { input, width: image.width, height: image.height };
}
