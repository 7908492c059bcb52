/**
 * ByteTrack as the `trackers` package (2.6) runs it in `edgedistill run` and `serve`
 * (fixed-rate updates, XYXY Kalman state): high-score detections are matched to every
 * track's predicted box by IoU (optimal assignment), low-score ones then to the tracks left;
 * an unmatched high-score detection above the activation threshold starts a tentative track,
 * which gets an id once seen on `minimumConsecutiveFrames` frames in a row.
 */
import { maximumAssignment } from './assignment';
import { BoxKalman } from './kalman';
import { iou } from './nms';
import type { Detection, TrackedDetection } from './types';

export interface ByteTrackOptions {
  frameRate: number;
  trackActivationThreshold: number;
  highConfDetThreshold: number;
  lostTrackBuffer: number;
  minimumConsecutiveFrames: number;
  minimumIouThreshold: number;
}

export const BYTETRACK_DEFAULTS: Omit<ByteTrackOptions, 'frameRate'> = {
  trackActivationThreshold: 0.7,
  highConfDetThreshold: 0.6,
  lostTrackBuffer: 30,
  minimumConsecutiveFrames: 2,
  minimumIouThreshold: 0.1,
};

class Tracklet {
  readonly filter: BoxKalman;
  trackerId = -1;
  timeSinceUpdate = 0;
  consecutiveUpdates = 1;

  constructor(detection: Detection) {
    this.filter = new BoxKalman(detection.box);
  }

  predict(): void {
    this.filter.predict();
    if (this.timeSinceUpdate > 0) this.consecutiveUpdates = 0;
    this.timeSinceUpdate += 1;
  }

  update(detection: Detection): void {
    this.filter.update(detection.box);
    this.timeSinceUpdate = 0;
    this.consecutiveUpdates += 1;
  }
}

export class ByteTracker {
  private tracks: Tracklet[] = [];
  private nextId = 0;
  private readonly options: ByteTrackOptions;
  private readonly maxFramesWithoutUpdate: number;

  constructor(options: Partial<ByteTrackOptions> & { frameRate: number }) {
    this.options = { ...BYTETRACK_DEFAULTS, ...options };
    const { lostTrackBuffer, frameRate } = this.options;
    this.maxFramesWithoutUpdate =
      lostTrackBuffer === 0 ? 0 : Math.max(1, Math.ceil((frameRate / 30) * lostTrackBuffer));
  }

  /** Every detection of the frame with its track id (-1: tentative or not tracked). */
  update(detections: Detection[]): TrackedDetection[] {
    if (!this.tracks.length && !detections.length) return [];
    const { highConfDetThreshold, minimumIouThreshold, trackActivationThreshold } = this.options;
    for (const track of this.tracks) track.predict();
    const predicted = this.tracks.map((t) => t.filter.box());
    const high = detections.filter((d) => d.score >= highConfDetThreshold);
    const low = detections.filter((d) => d.score < highConfDetThreshold);
    const out: TrackedDetection[] = [];

    const first = this.associate(predicted, high, minimumIouThreshold);
    for (const [row, col] of first.matched) out.push(this.confirm(this.tracks[row], high[col]));
    const remaining = first.unmatchedRows.map((i) => this.tracks[i]);
    const second = this.associate(
      first.unmatchedRows.map((i) => predicted[i]),
      low,
      minimumIouThreshold,
    );
    for (const [row, col] of second.matched) out.push(this.confirm(remaining[row], low[col]));
    for (const col of second.unmatchedCols) out.push({ ...low[col], trackId: -1 });
    for (const col of first.unmatchedCols) {
      out.push({ ...high[col], trackId: -1 });
      if (high[col].score >= trackActivationThreshold) this.tracks.push(new Tracklet(high[col]));
    }
    this.tracks = this.tracks.filter((t) => this.alive(t));
    return out;
  }

  private confirm(track: Tracklet, detection: Detection): TrackedDetection {
    track.update(detection);
    if (
      track.consecutiveUpdates >= this.options.minimumConsecutiveFrames &&
      track.trackerId === -1
    ) {
      track.trackerId = this.nextId++;
    }
    return { ...detection, trackId: track.trackerId };
  }

  private alive(track: Tracklet): boolean {
    const mature =
      track.trackerId !== -1 || track.consecutiveUpdates >= this.options.minimumConsecutiveFrames;
    const withinBudget = track.timeSinceUpdate <= this.maxFramesWithoutUpdate;
    return withinBudget && (mature || track.timeSinceUpdate === 0);
  }

  private associate(
    boxes: number[][],
    detections: Detection[],
    threshold: number,
  ): { matched: [number, number][]; unmatchedRows: number[]; unmatchedCols: number[] } {
    const similarity = boxes.map((b) => detections.map((d) => iou(b, d.box)));
    const pairs = boxes.length && detections.length ? maximumAssignment(similarity) : [];
    const matched = pairs.filter(([r, c]) => similarity[r][c] >= threshold);
    const rows = new Set(matched.map(([r]) => r));
    const cols = new Set(matched.map(([, c]) => c));
    return {
      matched,
      unmatchedRows: boxes.map((_, i) => i).filter((i) => !rows.has(i)),
      unmatchedCols: detections.map((_, i) => i).filter((i) => !cols.has(i)),
    };
  }
}
