// Runs expo-doctor and fails on any failed check except the two that need the internet
// (the Expo API's config schema and React Native Directory), which cannot pass offline.
const { spawnSync } = require('child_process');

const NEEDS_INTERNET = [
  'Check Expo config (app.json/ app.config.js) schema',
  'Validate packages against React Native Directory package metadata',
];
const run = spawnSync('npx', ['expo-doctor'], { encoding: 'utf8', cwd: `${__dirname}/..` });
const output = `${run.stdout}${run.stderr}`;
process.stdout.write(output);
const failed = output
  .split('\n')
  .filter((line) => line.startsWith('✖ '))
  .map((line) => line.slice(2).trim());
const real = failed.filter((check) => !NEEDS_INTERNET.includes(check));
if (run.status !== 0 && (real.length || !failed.length)) {
  console.error(`expo-doctor: ${real.length ? real.join('; ') : 'did not run'}`);
  process.exit(1);
}
if (failed.length) console.log(`note: ${failed.length} expo-doctor checks need the internet and were not judged`);
