/**
 * The lead vehicle: the lowest box of a vehicle class whose bottom centre is in the ego zone.
 * A box closer than `minLeadDistanceM` is refused unless its track was seen farther first:
 * the car's own hood is that close from its first frame, a real vehicle closing in is not.
 */
import { TimeToCollision, distanceM, focalLengthPx, inside } from './estimate';
import type { HudSettings } from './settings';
import type { Lead, TrackedDetection } from './types';

export class LeadTracker {
  private ttc = new Map<number, TimeToCollision>();
  /** Tracks once seen at or beyond the closest plausible distance. */
  private plausible = new Set<number>();
  /** Track ids refused as the lead in the last frame: implausibly close (the car's own hood). */
  refused: number[] = [];

  constructor(private readonly settings: HudSettings) {}

  update(
    detections: TrackedDetection[],
    names: readonly string[],
    timeS: number,
    width: number,
    height: number,
  ): Lead | null {
    const { egoZone, vehicleWidthsM, horizontalFovDeg, ttcWarningS, ttcWindowS, minLeadDistanceM } =
      this.settings;
    const zone = egoZone.map(([x, y]) => [x * width, y * height] as [number, number]);
    const focal = focalLengthPx(width, horizontalFovDeg);
    const live = new Set(detections.map((d) => d.trackId));
    for (const id of [...this.plausible]) if (!live.has(id)) this.plausible.delete(id);
    this.refused = [];
    let best = -1;
    detections.forEach((d, i) => {
      const [x1, , x2, y2] = d.box;
      const realWidth = vehicleWidthsM[names[d.classId]];
      if (realWidth === undefined) return;
      const distance = distanceM(x2 - x1, realWidth, focal);
      if (distance === null || distance >= minLeadDistanceM) this.plausible.add(d.trackId);
      if (!inside([(x1 + x2) / 2, y2], zone)) return;
      if (!this.plausible.has(d.trackId)) {
        this.refused.push(d.trackId);
        return;
      }
      if (best < 0 || y2 > detections[best].box[3]) best = i;
    });
    for (const id of [...this.ttc.keys()]) if (!live.has(id)) this.ttc.delete(id);
    if (best < 0) return null;
    const lead = detections[best];
    const boxWidth = lead.box[2] - lead.box[0];
    let estimator = this.ttc.get(lead.trackId);
    if (!estimator) {
      estimator = new TimeToCollision(ttcWindowS);
      this.ttc.set(lead.trackId, estimator);
    }
    const ttcS = estimator.update(timeS, boxWidth);
    const className = names[lead.classId];
    return {
      index: best,
      trackId: lead.trackId,
      className,
      distanceM: distanceM(boxWidth, vehicleWidthsM[className], focal),
      ttcS,
      warning: ttcS !== null && ttcS < ttcWarningS,
    };
  }
}
