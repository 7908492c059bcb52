/**
 * Optimal assignment on a rectangular similarity matrix (scipy's linear_sum_assignment with
 * maximize=True): the Hungarian method with potentials, O(n²·m).
 */

/** Pairs [row, col] maximising the summed similarity; every row or every column is used. */
export function maximumAssignment(similarity: number[][]): [number, number][] {
  const rows = similarity.length;
  const cols = rows ? similarity[0].length : 0;
  if (!rows || !cols) return [];
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const cost = (i: number, j: number) =>
    -(transposed ? similarity[j - 1][i - 1] : similarity[i - 1][j - 1]);
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const match = new Int32Array(m + 1); // match[j] = row assigned to column j (1-based), 0 = none
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    match[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = match[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost(i0, j) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[match[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (match[j0] !== 0);
    do {
      const j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0);
  }
  const pairs: [number, number][] = [];
  for (let j = 1; j <= m; j++) {
    if (!match[j]) continue;
    pairs.push(transposed ? [j - 1, match[j] - 1] : [match[j] - 1, j - 1]);
  }
  return pairs.sort((a, b) => a[0] - b[0]);
}
