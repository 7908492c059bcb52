/**
 * The constant-velocity Kalman filter of the `trackers` package's ByteTrack, on state
 * [x1, y1, x2, y2, vx1, vy1, vx2, vy2] with fixed-rate steps (one frame per update):
 * P0 = I, Q = 0.01·I, R = 0.1·I, H = [I 0], F = [[I, I], [0, I]].
 */
import type { Box } from './types';

const N = 8;
const M = 4;
const PROCESS_NOISE = 0.01;
const MEASUREMENT_NOISE = 0.1;

export class BoxKalman {
  /** State vector. */
  readonly x = new Float64Array(N);
  /** Covariance, row-major N×N. */
  readonly p = new Float64Array(N * N);

  constructor(box: Box) {
    for (let i = 0; i < M; i++) this.x[i] = box[i];
    for (let i = 0; i < N; i++) this.p[i * N + i] = 1;
  }

  box(): Box {
    return [this.x[0], this.x[1], this.x[2], this.x[3]];
  }

  /** x = F x; P = F P Fᵀ + Q. */
  predict(): void {
    const { x, p } = this;
    for (let i = 0; i < M; i++) x[i] += x[i + M];
    // P ← F P: rows i < M gain row i + M.
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) p[i * N + j] += p[(i + M) * N + j];
    // P ← P Fᵀ: columns j < M gain column j + M.
    for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) p[i * N + j] += p[i * N + j + M];
    for (let i = 0; i < N; i++) p[i * N + i] += PROCESS_NOISE;
  }

  /** The Joseph-form update with measurement `z` = a box. */
  update(z: Box): void {
    const { x, p } = this;
    // S = H P Hᵀ + R is P's top-left block plus R; K = P Hᵀ S⁻¹ is P's first M columns times S⁻¹.
    const s = new Float64Array(M * M);
    for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) s[i * M + j] = p[i * N + j];
    for (let i = 0; i < M; i++) s[i * M + i] += MEASUREMENT_NOISE;
    const sInv = invert4(s);
    const k = new Float64Array(N * M);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < M; j++) {
        let sum = 0;
        for (let l = 0; l < M; l++) sum += p[i * N + l] * sInv[l * M + j];
        k[i * M + j] = sum;
      }
    const y = [z[0] - x[0], z[1] - x[1], z[2] - x[2], z[3] - x[3]];
    for (let i = 0; i < N; i++) {
      let sum = 0;
      for (let l = 0; l < M; l++) sum += k[i * M + l] * y[l];
      x[i] += sum;
    }
    // A = I - K H; P = A P Aᵀ + K R Kᵀ.
    const a = new Float64Array(N * N);
    for (let i = 0; i < N; i++) {
      a[i * N + i] = 1;
      for (let j = 0; j < M; j++) a[i * N + j] -= k[i * M + j];
    }
    const ap = multiply(a, p, N, N, N);
    const apat = multiplyTransposed(ap, a, N, N);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        let sum = 0;
        for (let l = 0; l < M; l++) sum += k[i * M + l] * k[j * M + l];
        p[i * N + j] = apat[i * N + j] + MEASUREMENT_NOISE * sum;
      }
  }
}

function multiply(a: Float64Array, b: Float64Array, n: number, m: number, q: number): Float64Array {
  const out = new Float64Array(n * q);
  for (let i = 0; i < n; i++)
    for (let l = 0; l < m; l++) {
      const v = a[i * m + l];
      if (v === 0) continue;
      for (let j = 0; j < q; j++) out[i * q + j] += v * b[l * q + j];
    }
  return out;
}

/** a · bᵀ for square n×n a and b. */
function multiplyTransposed(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let l = 0; l < m; l++) sum += a[i * m + l] * b[j * m + l];
      out[i * n + j] = sum;
    }
  return out;
}

/** Inverse of a 4×4 matrix by Gauss–Jordan elimination with partial pivoting. */
export function invert4(m: Float64Array): Float64Array {
  const a = Array.from({ length: M }, (_, i) => [
    ...Array.from(m.subarray(i * M, i * M + M)),
    ...Array.from({ length: M }, (_, j) => (i === j ? 1 : 0)),
  ]);
  for (let c = 0; c < M; c++) {
    let pivot = c;
    for (let r = c + 1; r < M; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    [a[c], a[pivot]] = [a[pivot], a[c]];
    const d = a[c][c];
    for (let j = 0; j < 2 * M; j++) a[c][j] /= d;
    for (let r = 0; r < M; r++) {
      if (r === c) continue;
      const f = a[r][c];
      for (let j = 0; j < 2 * M; j++) a[r][j] -= f * a[c][j];
    }
  }
  const out = new Float64Array(M * M);
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) out[i * M + j] = a[i][j + M];
  return out;
}
