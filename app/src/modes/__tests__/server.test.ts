/**
 * @jest-environment node
 *
 * The WebSocket client against a local server speaking `edgedistill serve`'s protocol: frames
 * as 4-byte big-endian id + JPEG, JSON answers, close codes, the in-flight limit.
 */
import { type AddressInfo } from 'net';
import WebSocket, { WebSocketServer } from 'ws';

import { ServerClient, encodeFrame, streamUrl } from '../server';

const KEY = 'test-key';
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

interface Fake {
  url: string;
  received: { id: number; bytes: number[] }[];
  answer(id: number, extra?: object): void;
  close(): Promise<void>;
}

async function fakeServe(): Promise<Fake> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const received: Fake['received'] = [];
  let client: WebSocket | null = null;
  server.on('connection', (socket, request) => {
    const key = new URL(request.url ?? '', 'http://x').searchParams.get('api_key');
    if (key !== KEY) return socket.close(1008, 'invalid or missing api_key');
    client = socket;
    socket.on('message', (data: Buffer) => {
      received.push({ id: data.readUInt32BE(0), bytes: [...data.subarray(4)] });
    });
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answer(id, extra = {}) {
      client!.send(
        JSON.stringify({
          frame_id: id,
          width: 640,
          height: 360,
          detections: [
            { x1: 10, y1: 20, x2: 110, y2: 90, class: 'car', class_id: 2, confidence: 0.9, track_id: 4 },
            { x1: 0, y1: 0, x2: 5, y2: 5, class: 'person', class_id: 0, confidence: 0.3 },
          ],
          server_ms: 12.5,
          model_ms: 9.1,
          dropped: 0,
          ...extra,
        }),
      );
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

it('frames are a 4-byte big-endian id followed by the JPEG', () => {
  const message = encodeFrame(0x01020304, JPEG);
  expect([...message.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
  expect([...message.subarray(4)]).toEqual([...JPEG]);
  expect(streamUrl('https://host:8000', 'k')).toBe('wss://host:8000/ws?api_key=k');
  expect(streamUrl('host:8000', 'a b')).toBe('ws://host:8000/ws?api_key=a+b');
});

it('keeps at most two frames in flight, the latest waiting frame wins', async () => {
  const fake = await fakeServe();
  const client = new ServerClient(fake.url, KEY, { WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
  const answers: number[] = [];
  client.onAnswer = (a) => {
    answers.push(a.frameId);
    expect(a.detections).toEqual([{ box: [10, 20, 110, 90], score: 0.9, classId: 2, trackId: 4 }]);
    expect(a.names[2]).toBe('car');
  };
  await client.connect();
  for (let i = 0; i < 5; i++) client.send(JPEG);
  await until(() => fake.received.length === 2);
  expect(fake.received.map((r) => r.id)).toEqual([1, 2]);
  expect(fake.received[0].bytes).toEqual([...JPEG]);
  expect(client.dropped).toBe(2); // frames 3 and 4 were replaced by 5 before they could go
  fake.answer(1);
  await until(() => fake.received.length === 3);
  expect(fake.received[2].id).toBe(5);
  fake.answer(5); // the server may skip 2 (latest wins there too): 5 settles it
  await until(() => answers.length === 2);
  expect(client.inFlight).toBe(0);
  client.close();
  await fake.close();
});

it('a refused key is one sentence', async () => {
  const fake = await fakeServe();
  const client = new ServerClient(fake.url, 'wrong', { WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
  const errors: string[] = [];
  client.onError = (m) => errors.push(m);
  await client.connect().catch((e: Error) => errors.push(e.message));
  await until(() => errors.length > 0);
  expect(errors[0]).toBe('the server refused the key or the frame rate');
  await fake.close();
});

it('an unreachable server is one sentence', async () => {
  const client = new ServerClient('http://127.0.0.1:9', KEY, { WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
  await expect(client.connect()).rejects.toThrow('cannot reach the server at http://127.0.0.1:9');
});
