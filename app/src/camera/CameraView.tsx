/**
 * The phone camera (react-native-vision-camera 5). The on-device student reads frames from the
 * frame output (frame processors, framePipeline.ts): 480p frames resized on the GPU by
 * react-native-vision-camera-resizer, at most one in flight, the newest wins. The server and
 * Roboflow modes send JPEGs: a still from the photo output, scaled natively
 * (react-native-nitro-image) to 480p — their pace is set by the network, not the camera.
 */
import { useEffect, useMemo, useState } from 'react';
import { StyleSheet, Text } from 'react-native';
import { Camera, CommonResolutions, useCameraPermission, useFrameOutput, usePhotoOutput } from 'react-native-vision-camera';
import { createResizer } from 'react-native-vision-camera-resizer';
import { createSynchronizable } from 'react-native-worklets';

import { type FrameGate, NativeFrameSource, type SizedResizer, frameProcessor } from './framePipeline';
import type { CameraHandle, CameraViewProps } from './types';

export default function CameraView({ onReady, onError }: CameraViewProps) {
  const permission = useCameraPermission();
  const photos = usePhotoOutput({ qualityPrioritization: 'speed' });
  const gate = useMemo<FrameGate>(() => ({ wanted: createSynchronizable(false), skipped: createSynchronizable(0) }), []);
  const [sized, setSized] = useState<SizedResizer | undefined>(undefined);
  const source = useMemo(() => new NativeFrameSource(gate, createResizer, setSized), [gate]);
  useEffect(() => () => source.dispose(), [source]);
  const onFrame = useMemo(() => frameProcessor(sized, gate, source.receive), [sized, gate, source]);
  const frames = useFrameOutput({
    targetResolution: CommonResolutions.VGA_16_9,
    pixelFormat: 'yuv', // what the resizer reads on iOS: yuv-420-8-bit-full
    onFrame,
    onFrameDropped: () => gate.skipped.setBlocking(gate.skipped.getBlocking() + 1),
  });

  useEffect(() => {
    if (!permission.hasPermission && permission.canRequestPermission) void permission.requestPermission();
  }, [permission]);

  const handle = useMemo<CameraHandle>(
    () => ({
      async capture(maxWidth) {
        const photo = await photos.capturePhoto({ enableShutterSound: false }, {});
        try {
          const image = await photo.toImageAsync();
          const scale = Math.min(1, maxWidth / image.width);
          const small = image.resize(Math.round(image.width * scale), Math.round(image.height * scale));
          const encoded = await small.toEncodedImageDataAsync('jpg', 80);
          const bytes = new Uint8Array(encoded.buffer);
          return { width: encoded.width, height: encoded.height, timeS: performance.now() / 1000, jpeg: async () => bytes };
        } finally {
          photo.dispose();
        }
      },
      modelInput: (inputWidth, inputHeight) => source.modelInput(inputWidth, inputHeight),
    }),
    [photos, source],
  );

  if (!permission.hasPermission) {
    return (
      <Text style={styles.message}>
        The HUD needs the camera. Allow it in Settings › Privacy & Security › Camera.
      </Text>
    );
  }
  return (
    <Camera
      style={StyleSheet.absoluteFill}
      device="back"
      isActive
      outputs={[photos, frames]}
      onStarted={() => onReady(handle)}
      onError={(e) => onError(`the camera stopped: ${e.message}`)}
    />
  );
}

const styles = StyleSheet.create({
  message: { color: '#fff', fontSize: 20, padding: 24, textAlign: 'center', marginTop: 120 },
});
