/**
 * One frame through the HUD: raw model output (or detections from a server) → tracker →
 * lead vehicle. The same steps and settings as `edgedistill run`.
 */
import { ByteTracker } from './bytetrack';
import { type Tensor, decode } from './decode';
import { outsideMask } from './ego';
import { LeadTracker } from './lead';
import { letterbox } from './letterbox';
import type { HudSettings } from './settings';
import type { Detection, HudFrame, TrackedDetection } from './types';

export interface PipelineOptions {
  names: string[];
  /** Model input as [height, width]. */
  inputSize: [number, number];
  settings: HudSettings;
  /** Frames per second the tracker is tuned for (the camera's or the processing rate). */
  frameRate: number;
  maxDet?: number;
}

export class HudPipeline {
  private readonly tracker: ByteTracker;
  private readonly leads: LeadTracker;

  constructor(private readonly options: PipelineOptions) {
    const { conf } = options.settings;
    this.tracker = new ByteTracker({
      frameRate: options.frameRate,
      trackActivationThreshold: conf,
      highConfDetThreshold: Math.max(conf, 0.5),
    });
    this.leads = new LeadTracker(options.settings);
  }

  /** Track ids refused as the lead in the last frame: implausibly close. */
  get refused(): number[] {
    return this.leads.refused;
  }

  /** Decodes a raw model output for a `width`×`height` frame, then tracks it. */
  fromTensor(output: Tensor, width: number, height: number, timeS: number): HudFrame {
    const [inputHeight, inputWidth] = this.options.inputSize;
    const detections = decode(output, {
      conf: this.options.settings.conf,
      iou: this.options.settings.iou,
      maxDet: this.options.maxDet ?? 300,
      letterbox: letterbox(width, height, inputWidth, inputHeight),
      frameWidth: width,
      frameHeight: height,
    });
    return this.fromDetections(detections, width, height, timeS);
  }

  /** Tracks detections already in frame pixels (e.g. from Roboflow), the ego vehicle dropped. */
  fromDetections(
    detections: Detection[],
    width: number,
    height: number,
    timeS: number,
    names: readonly string[] = this.options.names,
  ): HudFrame {
    const kept = outsideMask(detections, this.options.settings.egoMask, width, height);
    const tracked = this.tracker.update(kept).filter((d) => d.trackId >= 0);
    return this.lead(tracked, width, height, timeS, names);
  }

  /** Detections a server already tracked: the ego vehicle dropped, the lead vehicle found. */
  withLead(
    tracked: TrackedDetection[],
    width: number,
    height: number,
    timeS: number,
    names: readonly string[] = this.options.names,
  ): HudFrame {
    const kept = outsideMask(tracked, this.options.settings.egoMask, width, height);
    return this.lead(kept, width, height, timeS, names);
  }

  private lead(
    tracked: TrackedDetection[],
    width: number,
    height: number,
    timeS: number,
    names: readonly string[],
  ): HudFrame {
    const lead = this.leads.update(tracked, names, timeS, width, height);
    return { width, height, detections: tracked, lead };
  }
}
