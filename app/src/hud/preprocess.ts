/** Camera pixels to the [1, 3, H, W] float tensor (RGB, 0..1) the student reads. */

/** Ultralytics pads the letterbox with grey 114. */
export const PAD_GREY = 114;

/** RGBA pixels that already fill the model input (the web canvas draws the letterbox). */
export function rgbaToChw(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = rgba[4 * i] / 255;
    out[plane + i] = rgba[4 * i + 1] / 255;
    out[2 * plane + i] = rgba[4 * i + 2] / 255;
  }
  return out;
}
