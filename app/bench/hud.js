// Time of decode + track + lead/TTC per frame for YOLO26's 300 candidate rows, in plain Node
// (V8, as in Chrome; jest's sandbox is ~20x slower and would mislead). The HUD core is
// transpiled with TypeScript's own transpiler into a temporary folder first.
// - real clip: the golden raw outputs of the dashcam clip (a few objects per frame);
// - dense scene: 60 of the 300 rows above the threshold, each growing a little per frame.
// Writes ../bench/results/app_hud.json and prints a summary; asserts nothing.
const fs = require('fs');
const os = require('os');
const path = require('path');
const ts = require('typescript');

const root = path.join(__dirname, '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hud-'));
const hudDir = path.join(root, 'src', 'hud');
for (const file of fs.readdirSync(hudDir).filter((f) => f.endsWith('.ts'))) {
  const source = fs.readFileSync(path.join(hudDir, file), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  fs.writeFileSync(path.join(out, file.replace(/\.ts$/, '.js')), js);
}
const { HudPipeline, HUD_DEFAULTS } = require(path.join(out, 'index.js'));
const golden = require(path.join(hudDir, '__tests__', 'golden.json'));
const student = golden.students[0];

function realFrames() {
  return student.frames.map((f) => {
    const data = new Float32Array(300 * 6);
    f.raw.index.forEach((r, k) => data.set(f.raw.rows[k], r * 6));
    return { data, dims: [1, 300, 6] };
  });
}

function denseFrames(count, objects) {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const base = Array.from({ length: objects }, () => [random() * 560, 60 + random() * 320, 20 + random() * 60]);
  return Array.from({ length: count }, (_, t) => {
    const data = new Float32Array(300 * 6);
    for (let r = 0; r < 300; r++) {
      const [x, y, w] = base[r % objects];
      const grow = 1 + t * 0.01;
      const score = r < objects ? 0.3 + 0.6 * random() : 0.1 * random();
      data.set([x, y, x + w * grow, y + w * 0.8 * grow, score, 2], r * 6);
    }
    return { data, dims: [1, 300, 6] };
  });
}

function measure(frames, rounds) {
  const times = [];
  for (let round = 0; round < rounds; round++) {
    const pipeline = new HudPipeline({ names: student.names, inputSize: [480, 640], settings: HUD_DEFAULTS, frameRate: 25 });
    frames.forEach((frame, i) => {
      const start = process.hrtime.bigint();
      pipeline.fromTensor(frame, 640, 360, i / 25);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    });
  }
  times.sort((a, b) => a - b);
  const at = (q) => Number(times[Math.floor(q * (times.length - 1))].toFixed(4));
  return { median_ms: at(0.5), p95_ms: at(0.95), max_ms: at(1), frames: times.length };
}

measure(realFrames(), 5); // warm-up for the JIT
measure(denseFrames(60, 60), 2);
const result = {
  machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, node ${process.version}`,
  real_clip: measure(realFrames(), 50),
  dense_60_objects: measure(denseFrames(60, 60), 20),
  goal_ms: 2,
};
const results = path.join(root, '..', 'bench', 'results');
fs.mkdirSync(results, { recursive: true });
fs.writeFileSync(path.join(results, 'app_hud.json'), JSON.stringify(result, null, 2));
fs.rmSync(out, { recursive: true });
console.log(
  `HUD core per frame, 300 candidates (goal < 2 ms): real clip median ${result.real_clip.median_ms} ms, ` +
    `p95 ${result.real_clip.p95_ms} ms; dense 60 objects median ${result.dense_60_objects.median_ms} ms, ` +
    `p95 ${result.dense_60_objects.p95_ms} ms  [${result.machine}]`,
);
