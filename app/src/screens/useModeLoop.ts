/** Starts the chosen mode's loop on the camera and keeps the latest HUD frame and fps. */
import { useEffect, useMemo, useRef, useState } from 'react';

import type { CameraHandle } from '../camera/types';
import { HUD_DEFAULTS, type HudSettings } from '../hud';
import { assetsBase, loadBundledModel } from '../model/bundled';
import { fetchNewerModel } from '../model/update';
import { type LoopResult, type ModeLoop, startDeviceLoop, startRoboflowLoop, startServerLoop } from '../modes/loops';
import { createRuntime } from '../modes/runtime';
import { ServerClient } from '../modes/server';
import type { AppSettings, Secrets } from '../settings/settings';

export interface ModeState {
  result: LoopResult | null;
  fps: number;
  status: string | null;
  error: string | null;
  hud: HudSettings;
}

export function useModeLoop(camera: CameraHandle | null, settings: AppSettings, secrets: Secrets): ModeState {
  const [result, setResult] = useState<LoopResult | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fps, setFps] = useState(0);
  const times = useRef<number[]>([]);
  /** What Settings exposes; everything else comes from the student's model.json. */
  const overrides = useMemo<Partial<HudSettings>>(
    () => ({ conf: settings.conf, horizontalFovDeg: settings.horizontalFovDeg, targetFps: settings.targetFps }),
    [settings.conf, settings.horizontalFovDeg, settings.targetFps],
  );
  const [hud, setHud] = useState<HudSettings>({ ...HUD_DEFAULTS, ...overrides });

  useEffect(() => {
    if (!camera) return;
    let loop: ModeLoop | null = null;
    let cancelled = false;
    const events = {
      onResult(r: LoopResult) {
        const now = performance.now();
        times.current = [...times.current.filter((t) => now - t < 2000), now];
        setFps(times.current.length > 1 ? ((times.current.length - 1) * 1000) / (now - times.current[0]) : 0);
        setResult(r);
        setError(null);
      },
      onError: setError,
    };
    setResult(null);
    setError(null);
    (async () => {
      if (settings.mode === 'device') {
        setStatus('loading the student…');
        const bundled = await loadBundledModel();
        let info = { ...bundled.info, hud: { ...bundled.info.hud, ...overrides } };
        let model: string | Uint8Array = bundled.url;
        let origin = 'bundled';
        if (settings.updateModelFromServer && settings.serverUrl) {
          try {
            const newer = await fetchNewerModel(settings.serverUrl, secrets.serverKey, bundled.info);
            if (newer) {
              info = { ...newer.info, hud: { ...newer.info.hud, ...overrides } };
              model = newer.bytes;
              origin = 'from the server, checksum verified';
            }
          } catch (e) {
            setError(`${(e as Error).message}; using the bundled student`);
          }
        }
        const runtime = await createRuntime(info, model, assetsBase());
        if (cancelled) return;
        setStatus(`${runtime.name}, student ${info.version} (${origin})`);
        setHud(info.hud);
        loop = startDeviceLoop(camera, runtime, info, info.hud, events);
        return;
      }
      // The project's HUD settings (ego mask, widths, zone) from the bundled model.json.
      const projectHud = await loadBundledModel().then(
        (bundled) => bundled.info.hud,
        () => HUD_DEFAULTS,
      );
      const hud = { ...projectHud, ...overrides };
      setHud(hud);
      if (settings.mode === 'server') {
        if (!settings.serverUrl || !secrets.serverKey) throw new Error('set the server URL and key in Settings');
        setStatus(`connecting to ${settings.serverUrl}…`);
        const client = new ServerClient(settings.serverUrl, secrets.serverKey);
        await client.connect();
        if (cancelled) return client.close();
        setStatus(`streaming to ${new URL(settings.serverUrl.includes('://') ? settings.serverUrl : `http://${settings.serverUrl}`).host}`);
        loop = startServerLoop(camera, client, hud, events);
      } else {
        setStatus(`Roboflow workflow at ${settings.roboflowFps} fps`);
        loop = startRoboflowLoop(
          camera,
          {
            workspace: settings.roboflowWorkspace,
            workflowId: settings.roboflowWorkflow,
            apiKey: secrets.roboflowKey,
            fps: settings.roboflowFps,
          },
          hud,
          events,
        );
      }
    })().catch((e: Error) => setError(e.message));
    return () => {
      cancelled = true;
      loop?.stop();
    };
  }, [camera, settings, secrets, overrides]);

  return { result, fps, status, error, hud };
}
