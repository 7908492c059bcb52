// Copies onnxruntime-web's browser build into public/ort, served beside the web app:
// loaded as a script, it stays out of Metro's bundle (which cannot bundle its WASM loader).
const fs = require('fs');
const path = require('path');

const source = path.join(__dirname, '..', 'node_modules', 'onnxruntime-web', 'dist');
const target = path.join(__dirname, '..', 'public', 'ort');
const files = ['ort.wasm.min.js', 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];
fs.mkdirSync(target, { recursive: true });
for (const file of files) fs.copyFileSync(path.join(source, file), path.join(target, file));
console.log(`onnxruntime-web copied to ${path.relative(process.cwd(), target)}`);
