/** Shared shapes of the HUD core: boxes are [x1, y1, x2, y2] in pixels of the camera frame. */

export type Box = [number, number, number, number];

/** One object the student found in one frame. */
export interface Detection {
  box: Box;
  score: number;
  classId: number;
}

/** A detection with the tracker's id (-1 while the track is still tentative). */
export interface TrackedDetection extends Detection {
  trackId: number;
}

/** The vehicle ahead in the ego zone. */
export interface Lead {
  /** Index into the frame's tracked detections. */
  index: number;
  trackId: number;
  className: string;
  distanceM: number | null;
  ttcS: number | null;
  warning: boolean;
}

/** What the HUD draws for one frame. */
export interface HudFrame {
  width: number;
  height: number;
  detections: TrackedDetection[];
  lead: Lead | null;
}
