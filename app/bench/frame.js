// JS-thread cost per camera frame on the phone's on-device path, in plain Node (V8; the phone
// runs Hermes, so read the ratio, not the milliseconds): the GPU resizer's planar float RGB
// (640x360, a 16:9 480p frame) placed in the grey 640x480 letterbox (src/camera/letterboxInput.ts),
// against the peer it replaced — converting an interleaved BGRA image pixel by pixel, as the
// photo-still path did. Writes ../bench/results/app_frame.json and prints a summary.
const fs = require('fs');
const os = require('os');
const path = require('path');
const ts = require('typescript');

const root = path.join(__dirname, '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'frame-'));
for (const dir of ['hud', 'camera']) {
  fs.mkdirSync(path.join(out, dir));
  for (const file of fs.readdirSync(path.join(root, 'src', dir)).filter((f) => f.endsWith('.ts'))) {
    const source = fs.readFileSync(path.join(root, 'src', dir, file), 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    fs.writeFileSync(path.join(out, dir, file.replace(/\.ts$/, '.js')), js);
  }
}
const { letterbox, PAD_GREY } = require(path.join(out, 'hud', 'index.js'));
const { letterboxedPlanes } = require(path.join(out, 'camera', 'letterboxInput.js'));

const lb = letterbox(854, 480, 640, 480); // VisionCamera's VGA_16_9 frame
const planes = new Float32Array(3 * lb.resizedWidth * lb.resizedHeight).map((_, i) => (i % 251) / 251);
const bgra = new Uint8Array(4 * lb.resizedWidth * lb.resizedHeight).map((_, i) => i % 251);

/** The peer: interleaved BGRA bytes to planar floats, one pixel at a time. */
function perPixel(pixels, { resizedWidth: w, resizedHeight: h, padX, padY }) {
  const plane = 640 * 480;
  const input = new Float32Array(3 * plane).fill(PAD_GREY / 255);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      const o = (y + padY) * 640 + padX + x;
      input[o] = pixels[p + 2] / 255;
      input[plane + o] = pixels[p + 1] / 255;
      input[2 * plane + o] = pixels[p] / 255;
    }
  return input;
}

function measure(run, rounds) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q) => Number(times[Math.floor(q * (times.length - 1))].toFixed(3));
  return { median_ms: at(0.5), p95_ms: at(0.95), rounds };
}

measure(() => letterboxedPlanes(planes, lb, 640, 480), 20); // JIT warm-up
measure(() => perPixel(bgra, lb), 20);
const result = {
  machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, node ${process.version}`,
  frame: '854x480 → 640x360 inside 640x480',
  planar_set: measure(() => letterboxedPlanes(planes, lb, 640, 480), 200),
  per_pixel_bgra_peer: measure(() => perPixel(bgra, lb), 200),
};
const results = path.join(root, '..', 'bench', 'results');
fs.mkdirSync(results, { recursive: true });
fs.writeFileSync(path.join(results, 'app_frame.json'), JSON.stringify(result, null, 2));
fs.rmSync(out, { recursive: true });
const ratio = result.per_pixel_bgra_peer.median_ms / result.planar_set.median_ms;
console.log(
  `Letterbox input per frame on the JS thread: resizer planes ${result.planar_set.median_ms} ms median ` +
    `(p95 ${result.planar_set.p95_ms}), per-pixel BGRA peer ${result.per_pixel_bgra_peer.median_ms} ms ` +
    `(${ratio.toFixed(1)}x)  [${result.machine}]`,
);
