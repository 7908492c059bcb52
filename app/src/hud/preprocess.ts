/** Camera pixels to the [1, 3, H, W] float tensor (RGB, 0..1) the student reads. */

/** Ultralytics pads the letterbox with grey 114. */
export const PAD_GREY = 114;

/** Byte order of 4-byte pixels: where red, green and blue sit. */
export type PixelOrder = 'RGBA' | 'BGRA' | 'ARGB' | 'ABGR';

const OFFSETS: Record<PixelOrder, [number, number, number]> = {
  RGBA: [0, 1, 2],
  BGRA: [2, 1, 0],
  ARGB: [1, 2, 3],
  ABGR: [3, 2, 1],
};

/** RGBA pixels that already fill the model input (the web canvas draws the letterbox). */
export function rgbaToChw(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): Float32Array {
  return letterboxedChw(rgba, width, height, 'RGBA', width, height, 0, 0);
}

/**
 * Pixels of a frame already resized to the letterbox's inner size, placed at (padX, padY) in
 * a grey `inputWidth`×`inputHeight` tensor. `rowBytes` allows padded rows (native bitmaps).
 */
export function letterboxedChw(
  pixels: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
  order: PixelOrder,
  inputWidth: number,
  inputHeight: number,
  padX: number,
  padY: number,
  rowBytes = width * 4,
): Float32Array {
  const plane = inputWidth * inputHeight;
  const out = new Float32Array(3 * plane).fill(PAD_GREY / 255);
  const [r, g, b] = OFFSETS[order];
  for (let y = 0; y < height; y++) {
    const row = (y + padY) * inputWidth + padX;
    for (let x = 0; x < width; x++) {
      const p = y * rowBytes + 4 * x;
      out[row + x] = pixels[p + r] / 255;
      out[plane + row + x] = pixels[p + g] / 255;
      out[2 * plane + row + x] = pixels[p + b] / 255;
    }
  }
  return out;
}
