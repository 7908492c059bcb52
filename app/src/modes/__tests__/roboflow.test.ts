/**
 * @jest-environment node
 *
 * The Roboflow workflow client against a local HTTP server answering as Roboflow documents:
 * the request body, centre boxes in `outputs[0]`, billing headers, 401 and 429.
 */
import { type AddressInfo } from 'net';
import { createServer, type IncomingMessage, type Server } from 'http';

import golden from '../../hud/__tests__/golden.json';
import { CostMeter, roboflowUsdPerMinute } from '../cost';
import { RoboflowClient } from '../roboflow';
import { nodeFetch } from './nodeFetch';

interface Seen {
  url: string;
  body: { api_key: string; inputs: { image: { type: string; value: string } } };
}

async function fakeRoboflow(status = 200, headers: Record<string, string> = {}): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    seen.push({ url: request.url ?? '', body: JSON.parse(text) });
    response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    if (status !== 200) return response.end(JSON.stringify({ message: `bad key ${JSON.parse(text).api_key}` }));
    response.end(
      JSON.stringify({
        outputs: [
          {
            count: 1,
            predictions: {
              image: { width: 640, height: 360 },
              predictions: [{ x: 60, y: 55, width: 100, height: 70, confidence: 0.8, class: 'car', class_id: 0, detection_id: 'a' }],
            },
          },
        ],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const settings = (baseUrl: string) => ({ workspace: 'my-ws', workflowId: 'detect-road', apiKey: 'rf-secret', fps: 2, baseUrl });

it('posts the documented body and reads centre boxes', async () => {
  const fake = await fakeRoboflow(200, { 'x-processing-time': '0.25' });
  const client = new RoboflowClient(settings(fake.url), nodeFetch);
  const answer = await client.detect('AAAA');
  expect(fake.seen[0].url).toBe('/my-ws/workflows/detect-road');
  expect(fake.seen[0].body).toEqual({ api_key: 'rf-secret', inputs: { image: { type: 'base64', value: 'AAAA' } } });
  expect(answer.detections).toEqual([{ box: [10, 20, 110, 90], score: 0.8, classId: 0 }]);
  expect(answer.names).toEqual(['car']);
  expect(answer.billedS).toBeCloseTo(0.25);
  expect(client.meter.usd).toBeCloseTo((0.25 / 500) * 3);
  fake.server.close();
});

it('bills at least 100 ms a request and throttles to the chosen fps', async () => {
  const fake = await fakeRoboflow();
  let now = 0;
  const client = new RoboflowClient(settings(fake.url), nodeFetch, () => now);
  expect(client.ready()).toBe(true);
  await client.detect('AAAA');
  expect(client.meter.billedS).toBeCloseTo(0.1);
  expect(client.ready()).toBe(false);
  now = 499;
  expect(client.ready()).toBe(false);
  now = 500;
  expect(client.ready()).toBe(true);
  fake.server.close();
});

it.each([
  [401, 'Roboflow refused the API key (HTTP 401)'],
  [429, 'Roboflow is rate-limiting this key (HTTP 429); lower the frame rate'],
])('HTTP %i is one sentence without the key', async (status, sentence) => {
  const fake = await fakeRoboflow(status);
  const client = new RoboflowClient(settings(fake.url), nodeFetch);
  const error = await client.detect('AAAA').catch((e: Error) => e.message);
  expect(error).toContain(sentence);
  expect(error).not.toContain('rf-secret');
  fake.server.close();
});

it('missing settings are one sentence', () => {
  expect(() => new RoboflowClient({ ...settings(''), apiKey: '' })).toThrow('set the Roboflow API key in Settings');
});

it('prices a minute as `edgedistill cost` does', () => {
  for (const { fps, per_minute_usd } of golden.cost) expect(roboflowUsdPerMinute(fps)).toBeCloseTo(per_minute_usd, 9);
  const meter = new CostMeter();
  meter.add(0.1);
  meter.add(0.3);
  expect(meter.credits).toBeCloseTo(0.4 / 500);
});
