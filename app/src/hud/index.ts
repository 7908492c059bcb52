/** The HUD core: plain TypeScript, no React, shared by every mode and checked against Python. */
export * from './types';
export * from './decode';
export * from './letterbox';
export * from './nms';
export * from './bytetrack';
export * from './estimate';
export * from './ego';
export * from './lead';
export * from './settings';
export * from './pipeline';
export * from './preprocess';
