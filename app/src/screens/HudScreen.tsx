/**
 * The driver's screen: camera preview, the HUD drawn over it, the lead vehicle's distance and
 * time to collision, BRAKE (with a haptic on the phone), fps and latency. Keeps the screen on.
 */
import * as Haptics from 'expo-haptics';
import { useKeepAwake } from 'expo-keep-awake';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Platform, Pressable, StyleSheet, Text, View } from 'react-native';

import CameraView from '../camera/CameraView';
import type { CameraHandle } from '../camera/types';
import type { HudFrame } from '../hud';
import { useModeLoop } from './useModeLoop';
import { HudOverlay } from './HudOverlay';
import type { AppSettings, Secrets } from '../settings/settings';

export function HudScreen({ settings, secrets, onSettings }: { settings: AppSettings; secrets: Secrets; onSettings(): void }) {
  useKeepAwake();
  const [camera, setCamera] = useState<CameraHandle | null>(null);
  const [cameraError, setCameraError] = useState<string | null>(null);
  const onError = useCallback((m: string) => setCameraError(m), []);
  const state = useModeLoop(camera, settings, secrets);
  const frame: HudFrame | null = state.result?.frame ?? null;
  const lead = frame?.lead ?? null;
  const warned = useRef(false);
  const [view, setView] = useState({ width: 0, height: 0 });

  useEffect(() => {
    if (lead?.warning && !warned.current && Platform.OS === 'ios') {
      void Haptics.notificationAsync(Haptics.NotificationFeedbackType.Warning);
    }
    warned.current = !!lead?.warning;
  }, [lead?.warning]);

  useEffect(() => {
    if (typeof document === 'undefined' || !frame) return;
    document.body.dataset.detections = String(frame.detections.length);
    document.body.dataset.lead = lead ? `${lead.className} ${lead.distanceM?.toFixed(1) ?? '?'} m` : '';
    document.body.dataset.mode = settings.mode;
    document.body.dataset.fps = state.fps.toFixed(2);
    document.body.dataset.modelMs = state.result?.modelMs?.toFixed(1) ?? '';
  }, [frame, lead, settings.mode, state.fps, state.result]);

  const ttc = lead?.ttcS != null ? `TTC ${lead.ttcS.toFixed(1)} s` : 'TTC –';
  const distance = lead?.distanceM != null ? `${lead.distanceM.toFixed(0)} m` : '';
  return (
    <View style={styles.root} onLayout={(e) => setView(e.nativeEvent.layout)}>
      <CameraView onReady={setCamera} onError={onError} />
      {frame && state.result && view.width > 0 && (
        <HudOverlay frame={frame} names={state.result.names} settings={state.hud} view={view} />
      )}
      {lead?.warning && (
        <View style={styles.brake} accessibilityRole="alert">
          <Text style={styles.brakeText}>BRAKE</Text>
        </View>
      )}
      <View style={styles.top}>
        <Text style={styles.readout} testID="status">
          {MODE_LABEL[settings.mode]} · {state.fps.toFixed(1)} fps · {state.result ? `${state.result.latencyMs.toFixed(0)} ms` : '–'}
          {state.result?.modelMs !== undefined ? ` (model ${state.result.modelMs.toFixed(0)} ms)` : ''}
          {state.result?.costUsd !== undefined ? ` · $${state.result.costUsd.toFixed(4)}` : ''}
          {state.result?.skippedFrames !== undefined ? ` · ${state.result.skippedFrames} camera frames skipped` : ''}
          {frame ? ` · ${frame.detections.length} objects` : ''}
        </Text>
        {lead && (
          <Text style={styles.lead} testID="lead">
            {lead.className} {distance} · {ttc}
          </Text>
        )}
        {state.status && <Text style={styles.note}>{state.status}</Text>}
        {(cameraError ?? state.error) && <Text style={styles.error}>{cameraError ?? state.error}</Text>}
      </View>
      <Pressable style={styles.settings} onPress={onSettings} accessibilityRole="button">
        <Text style={styles.settingsText}>Settings</Text>
      </Pressable>
    </View>
  );
}

const MODE_LABEL = { device: 'on this device', server: 'my server', roboflow: 'Roboflow' } as const;

const styles = StyleSheet.create({
  root: { flex: 1, backgroundColor: '#000' },
  top: { position: 'absolute', top: 8, left: 8, right: 8, gap: 4 },
  readout: { alignSelf: 'flex-start', color: '#fff', backgroundColor: '#000', fontSize: 16, fontWeight: '700', paddingHorizontal: 8, paddingVertical: 2 },
  lead: { alignSelf: 'flex-start', color: '#ffd400', backgroundColor: '#000', fontSize: 28, fontWeight: '900', paddingHorizontal: 8 },
  note: { alignSelf: 'flex-start', color: '#000', backgroundColor: '#ffd400', fontSize: 15, fontWeight: '700', paddingHorizontal: 8, paddingVertical: 2 },
  error: { alignSelf: 'flex-start', color: '#fff', backgroundColor: '#c00', fontSize: 15, fontWeight: '700', paddingHorizontal: 8, paddingVertical: 2 },
  brake: { position: 'absolute', left: 0, right: 0, top: '38%', backgroundColor: '#ff2d2d', alignItems: 'center', paddingVertical: 10 },
  brakeText: { color: '#fff', fontSize: 56, fontWeight: '900', letterSpacing: 6 },
  settings: { position: 'absolute', right: 12, bottom: 16, backgroundColor: '#000', borderColor: '#fff', borderWidth: 2, borderRadius: 8, paddingHorizontal: 14, paddingVertical: 8 },
  settingsText: { color: '#fff', fontSize: 18, fontWeight: '700' },
});
