/**
 * The phone camera (react-native-vision-camera). Every mode takes stills from the photo
 * output: scaled natively (react-native-nitro-image) to 480p JPEG for the server and
 * Roboflow, or to the letterbox's inner size as raw pixels for the on-device student.
 * A still a frame is a few per second; frame processors are the road to 15 fps.
 */
import { useEffect, useMemo } from 'react';
import { StyleSheet, Text } from 'react-native';
import { Camera, useCameraPermission, usePhotoOutput } from 'react-native-vision-camera';

import { stillToModelInput } from './nativeInput';
import type { CameraHandle, CameraViewProps } from './types';

export default function CameraView({ onReady, onError }: CameraViewProps) {
  const permission = useCameraPermission();
  const photos = usePhotoOutput({ qualityPrioritization: 'speed' });

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
      async modelInput(inputWidth, inputHeight) {
        const photo = await photos.capturePhoto({ enableShutterSound: false }, {});
        try {
          return await stillToModelInput(await photo.toImageAsync(), inputWidth, inputHeight);
        } finally {
          photo.dispose();
        }
      },
    }),
    [photos],
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
      outputs={[photos]}
      onStarted={() => onReady(handle)}
      onError={(e) => onError(`the camera stopped: ${e.message}`)}
    />
  );
}

const styles = StyleSheet.create({
  message: { color: '#fff', fontSize: 20, padding: 24, textAlign: 'center', marginTop: 120 },
});
