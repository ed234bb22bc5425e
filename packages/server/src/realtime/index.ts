export { createRealtimeGateway, type RealtimeGateway, type RealtimeOptions, type RealtimeStats, type StreamRequest } from './gateway.js';
export { encodeFrame, type FrameEvent, type LiveState } from './frames.js';
