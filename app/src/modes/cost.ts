/**
 * Roboflow's serverless billing, as `edgedistill cost` (cost.py) and the label stage count it:
 * each request bills max(processing time, 100 ms), 500 s make a credit, a credit is $3.
 */
export const MIN_BILLED_SECONDS = 0.1;
export const SECONDS_PER_CREDIT = 500;
export const CREDIT_USD = 3;

/** Dollars per minute of streaming `fps` frames, each billed `secondsPerFrame`. */
export function roboflowUsdPerMinute(fps: number, secondsPerFrame = MIN_BILLED_SECONDS, creditUsd = CREDIT_USD): number {
  return ((fps * 60 * Math.max(secondsPerFrame, MIN_BILLED_SECONDS)) / SECONDS_PER_CREDIT) * creditUsd;
}

/** Seconds Roboflow bills for one answer: its headers, else the answer's `time`, else wall time. */
export function billedSeconds(headers: { get(name: string): string | null }, body: unknown, wallS: number): number {
  const remote = headers.get('x-remote-processing-time');
  if (remote !== null) return MIN_BILLED_SECONDS + (Number.parseFloat(remote) || 0);
  let seconds = Number.parseFloat(headers.get('x-processing-time') ?? '');
  const time = (body as { time?: unknown } | null)?.time;
  if (Number.isNaN(seconds) && typeof time === 'number') seconds = time;
  if (Number.isNaN(seconds)) seconds = wallS;
  return Math.max(seconds, MIN_BILLED_SECONDS);
}

/** The running bill of a Roboflow session. */
export class CostMeter {
  requests = 0;
  billedS = 0;

  constructor(private readonly creditUsd = CREDIT_USD) {}

  add(seconds: number): void {
    this.requests += 1;
    this.billedS += seconds;
  }

  get credits(): number {
    return this.billedS / SECONDS_PER_CREDIT;
  }

  get usd(): number {
    return this.credits * this.creditUsd;
  }
}
