/** The browser camera: getUserMedia into a <video>; frames read through a canvas. */
import { createElement, useEffect, useRef } from 'react';

import { PAD_GREY, letterbox, rgbaToChw } from '../hud';
import type { CameraHandle, CameraViewProps } from './types';

export default function CameraView({ onReady, onError }: CameraViewProps) {
  const video = useRef<HTMLVideoElement | null>(null);

  useEffect(() => {
    let stream: MediaStream | null = null;
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d', { willReadFrequently: true })!;
    const draw = (width: number, height: number, fit: boolean): boolean => {
      const v = video.current;
      if (!v || v.readyState < 2 || !v.videoWidth) return false;
      canvas.width = width;
      canvas.height = height;
      if (!fit) {
        context.drawImage(v, 0, 0, width, height);
        return true;
      }
      const lb = letterbox(v.videoWidth, v.videoHeight, width, height);
      context.fillStyle = `rgb(${PAD_GREY},${PAD_GREY},${PAD_GREY})`;
      context.fillRect(0, 0, width, height);
      context.drawImage(v, lb.padX, lb.padY, lb.resizedWidth, lb.resizedHeight);
      return true;
    };
    const handle: CameraHandle = {
      async capture(maxWidth) {
        const v = video.current;
        if (!v || !v.videoWidth) return null;
        const scale = Math.min(1, maxWidth / v.videoWidth);
        const width = Math.round(v.videoWidth * scale);
        const height = Math.round(v.videoHeight * scale);
        if (!draw(width, height, false)) return null;
        const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/jpeg', 0.8));
        const bytes = blob ? new Uint8Array(await blob.arrayBuffer()) : new Uint8Array();
        return { width, height, timeS: performance.now() / 1000, jpeg: async () => bytes };
      },
      async modelInput(inputWidth, inputHeight) {
        const v = video.current;
        if (!v || !draw(inputWidth, inputHeight, true)) return null;
        const rgba = context.getImageData(0, 0, inputWidth, inputHeight).data;
        return { input: rgbaToChw(rgba, inputWidth, inputHeight), width: v.videoWidth, height: v.videoHeight };
      },
    };
    navigator.mediaDevices
      ?.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 640 }, height: { ideal: 480 } } })
      .then(async (s) => {
        stream = s;
        if (!video.current) return;
        video.current.srcObject = s;
        await video.current.play();
        onReady(handle);
      })
      .catch((e: Error) => onError(`the camera is not available: ${e.message}`));
    return () => stream?.getTracks().forEach((t) => t.stop());
  }, [onReady, onError]);

  return createElement('video', {
    ref: video,
    muted: true,
    playsInline: true,
    style: { position: 'absolute', inset: 0, width: '100%', height: '100%', objectFit: 'contain', background: '#000' },
  });
}
