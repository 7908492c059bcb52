/** RGBA pixels of the letterboxed model input to the [1, 3, H, W] float tensor the student reads. */
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

/** Ultralytics pads the letterbox with grey 114. */
export const PAD_GREY = 114;
