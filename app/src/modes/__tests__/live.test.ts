/**
 * @jest-environment node
 *
 * The clients against a live `edgedistill serve` (tests/test_app_clients.py starts it and sets
 * EDGEDISTILL_SERVE_URL, EDGEDISTILL_SERVE_KEY and EDGEDISTILL_TEST_JPEG); skipped otherwise.
 */
import { readFileSync } from 'fs';
import WebSocket from 'ws';

import { fetchNewerModel } from '../../model/update';
import { webSha256Hex } from '../../model/webcrypto';
import { ServerClient } from '../server';
import { nodeFetch } from './nodeFetch';

const URL_ = process.env.EDGEDISTILL_SERVE_URL;
const KEY = process.env.EDGEDISTILL_SERVE_KEY ?? '';
const live = URL_ ? describe : describe.skip;

live('a live edgedistill serve', () => {
  it('answers streamed frames with tracked boxes', async () => {
    const jpeg = new Uint8Array(readFileSync(process.env.EDGEDISTILL_TEST_JPEG!));
    const client = new ServerClient(URL_!, KEY, { WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
    const answers: { ids: number[]; width: number }[] = [];
    client.onAnswer = (a) => answers.push({ ids: a.detections.map((d) => d.trackId), width: a.width });
    await client.connect();
    for (let i = 0; i < 6; i++) {
      client.send(jpeg);
      await new Promise((r) => setTimeout(r, 300));
    }
    for (let i = 0; i < 100 && client.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 50));
    client.close();
    expect(answers.length).toBeGreaterThan(2);
    expect(answers.at(-1)!.width).toBeGreaterThan(0);
    expect(answers.at(-1)!.ids.length).toBeGreaterThan(0); // tracks confirmed after two frames
  }, 30000);

  it('offers its student with a checksum that verifies', async () => {
    const fetched = await fetchNewerModel(URL_!, KEY, null, nodeFetch, webSha256Hex);
    expect(fetched!.info.outputFormat).toBe('end2end');
    expect(fetched!.bytes.length).toBeGreaterThan(1_000_000);
    expect(await fetchNewerModel(URL_!, KEY, fetched!.info, nodeFetch, webSha256Hex)).toBeNull();
  }, 30000);
});
