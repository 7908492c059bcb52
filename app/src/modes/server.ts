/**
 * "My server": frames to `edgedistill serve` over its WebSocket (`/ws?api_key=KEY`).
 * A frame is one binary message, a 4-byte big-endian frame id then the JPEG; each answer is
 * JSON with boxes in the frame's pixels and the server's track ids. At most `maxInFlight`
 * frames are unanswered at a time; a newer frame replaces one still waiting to be sent, so
 * the latest frame always wins. The server may itself drop a frame that a newer one
 * overtook: an answer for id k settles every frame sent before k.
 */
import type { TrackedDetection } from '../hud';

export interface ServerDetection {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  class: string;
  class_id: number;
  confidence: number;
  track_id?: number;
}

export interface ServerAnswer {
  frameId: number;
  width: number;
  height: number;
  detections: TrackedDetection[];
  /** Class names by class id, as far as the answers told them. */
  names: string[];
  serverMs: number;
  modelMs: number;
  roundTripMs: number;
}

export interface ServerOptions {
  maxInFlight?: number;
  /** The WebSocket class (the browser's and React Native's are global). */
  WebSocketImpl?: typeof WebSocket;
  now?: () => number;
}

const CLOSE_REASONS: Record<number, string> = {
  1008: 'the server refused the key or the frame rate',
  1009: 'the frame was too large for the server',
  1013: 'the server has too many clients; try again later',
};

/** The WebSocket address for a server URL such as https://host:8000 or ws://host:8000/ws. */
export function streamUrl(server: string, apiKey: string): string {
  const url = new URL(server.includes('://') ? server : `http://${server}`);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  if (!url.pathname.endsWith('/ws')) url.pathname = `${url.pathname.replace(/\/$/, '')}/ws`;
  url.searchParams.set('api_key', apiKey);
  return url.toString();
}

/** One binary message: the frame id as 4 big-endian bytes, then the JPEG. */
export function encodeFrame(frameId: number, jpeg: Uint8Array): Uint8Array {
  const message = new Uint8Array(4 + jpeg.length);
  new DataView(message.buffer).setUint32(0, frameId >>> 0, false);
  message.set(jpeg, 4);
  return message;
}

export class ServerClient {
  private socket: WebSocket | null = null;
  private nextId = 1;
  private readonly sentAt = new Map<number, number>();
  private waiting: { id: number; jpeg: Uint8Array } | null = null;
  private readonly names: string[] = [];
  private readonly maxInFlight: number;
  private readonly now: () => number;
  /** Frames replaced before they were sent (latest wins). */
  dropped = 0;
  onAnswer: (answer: ServerAnswer) => void = () => {};
  onError: (message: string) => void = () => {};

  constructor(
    private readonly server: string,
    private readonly apiKey: string,
    options: ServerOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 2;
    this.now = options.now ?? (() => Date.now());
    this.WebSocketImpl = options.WebSocketImpl ?? WebSocket;
  }

  private readonly WebSocketImpl: typeof WebSocket;

  /** Opens the stream; rejects with one sentence when the server cannot be reached. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new this.WebSocketImpl(streamUrl(this.server, this.apiKey));
      socket.binaryType = 'arraybuffer';
      let open = false;
      socket.onopen = () => {
        open = true;
        resolve();
      };
      socket.onmessage = (event) => this.receive(String(event.data));
      socket.onerror = () => {
        if (!open) reject(new Error(`cannot reach the server at ${this.server}`));
      };
      socket.onclose = (event) => {
        this.socket = null;
        const reason = CLOSE_REASONS[event.code];
        if (!open) reject(new Error(reason ?? `cannot reach the server at ${this.server}`));
        else if (reason) this.onError(reason);
      };
      this.socket = socket;
    });
  }

  get inFlight(): number {
    return this.sentAt.size;
  }

  /** Queues a frame: sent now if fewer than `maxInFlight` wait for answers, else it waits. */
  send(jpeg: Uint8Array): number {
    const id = this.nextId++;
    if (this.waiting) this.dropped += 1;
    this.waiting = { id, jpeg };
    this.flush();
    return id;
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }

  private flush(): void {
    if (!this.waiting || !this.socket || this.sentAt.size >= this.maxInFlight) return;
    const { id, jpeg } = this.waiting;
    this.waiting = null;
    this.sentAt.set(id, this.now());
    this.socket.send(encodeFrame(id, jpeg));
  }

  private receive(text: string): void {
    const message = JSON.parse(text) as {
      frame_id: number;
      error?: string;
      width: number;
      height: number;
      detections: ServerDetection[];
      server_ms: number;
      model_ms: number;
    };
    const sent = this.sentAt.get(message.frame_id);
    for (const id of [...this.sentAt.keys()]) if (id <= message.frame_id) this.sentAt.delete(id);
    this.flush();
    if (message.error) {
      this.onError(`the server could not read frame ${message.frame_id}: ${message.error}`);
      return;
    }
    this.onAnswer({
      frameId: message.frame_id,
      width: message.width,
      height: message.height,
      detections: message.detections
        .filter((d) => d.track_id !== undefined && d.track_id >= 0)
        .map((d) => {
          this.names[d.class_id] = d.class;
          return {
            box: [d.x1, d.y1, d.x2, d.y2],
            score: d.confidence,
            classId: d.class_id,
            trackId: d.track_id as number,
          };
        }),
      names: this.names,
      serverMs: message.server_ms,
      modelMs: message.model_ms,
      roundTripMs: sent === undefined ? 0 : this.now() - sent,
    });
  }
}
