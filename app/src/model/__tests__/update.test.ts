/**
 * @jest-environment node
 *
 * Over-the-air student updates against a local server answering as `GET /model` does:
 * a new version is downloaded and verified, the same version is not, a bad checksum is refused.
 */
import { createHash } from 'crypto';
import { createServer } from 'http';
import { type AddressInfo } from 'net';

import { nodeFetch } from '../../modes/__tests__/nodeFetch';
import { fetchNewerModel, modelEndpoint } from '../update';
import { webSha256Hex } from '../webcrypto';

const FILE = Buffer.from('not really onnx, but bytes with a checksum');
const MODEL_JSON = { version: 'v2', names: ['car'], input_size: [480, 640], output_format: 'end2end', output_shape: [1, 300, 6], files: {} };

async function serveModel(sha256: string) {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '', 'http://x');
    if (url.searchParams.get('api_key') !== 'k') {
      response.writeHead(401);
      return response.end('{}');
    }
    if (url.pathname === '/model') {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      return response.end(JSON.stringify({ version: 'v2', sha256, bytes: FILE.length, url: '/model/model.onnx?api_key=k', model: MODEL_JSON }));
    }
    response.writeHead(200);
    response.end(FILE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const good = createHash('sha256').update(FILE).digest('hex');

it('downloads a newer student and checks its SHA-256', async () => {
  const { url, server } = await serveModel(good);
  const fetched = await fetchNewerModel(url, 'k', null, nodeFetch, webSha256Hex);
  expect(fetched?.info.version).toBe('v2');
  expect(Buffer.from(fetched!.bytes)).toEqual(FILE);
  const same = await fetchNewerModel(url, 'k', fetched!.info, nodeFetch, webSha256Hex);
  expect(same).toBeNull();
  server.close();
});

it('refuses a file whose checksum does not match', async () => {
  const { url, server } = await serveModel('0'.repeat(64));
  await expect(fetchNewerModel(url, 'k', null, nodeFetch, webSha256Hex)).rejects.toThrow(/checksum does not match.*keeping the bundled model/);
  server.close();
});

it('a refused key is one sentence', async () => {
  const { url, server } = await serveModel(good);
  await expect(fetchNewerModel(url, 'bad', null, nodeFetch, webSha256Hex)).rejects.toThrow('the server refused the key for GET /model');
  server.close();
});

it('finds /model beside the stream URL', () => {
  expect(modelEndpoint('wss://host/ws', 'k')).toBe('https://host/model?api_key=k');
  expect(modelEndpoint('host:8000', 'k')).toBe('http://host:8000/model?api_key=k');
});
