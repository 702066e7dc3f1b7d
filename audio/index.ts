// Public API of audio/: pure code for the renderer, the engine worker and Node alike.
// Node-only file reading lives in ./node-file and is not re-exported here.

export type { AudioCodec, AudioContainer, AudioFormatInfo, DecodedAudio } from './types';
export { AudioDecodeError, type AudioDecodeErrorCode } from './errors';
export { decodeAudio, SUPPORTED_FORMATS_TEXT } from './decode';
export { decodeWav } from './wav-decode';
export { encodeWav, floatToPcm16, type WavEncodeResult, type WavSampleFormat } from './wav-encode';
export { downmixToMono, selectChannel, type MonoResult } from './downmix';
export { planResampler, resample, resampledFrameCount, type ResamplerOptions, type ResamplerPlan } from './resample';
export {
  CODE_COUNT,
  decodeCodes,
  encodeSamples,
  linearDecode,
  linearEncode,
  MU_LAW_MU,
  muLawCompress,
  muLawDecode,
  muLawEncode,
  muLawExpand,
  ZERO_CODE,
  type Quantization,
} from './mulaw';
export { computePeaks, type Peaks } from './peaks';
export {
  DEFAULT_MIN_DURATION_SEC,
  DEFAULT_MODEL_RATE_HZ,
  prepareClip,
  prepareCodes,
  prepareSamples,
  type PrepareOptions,
  type PreparedAudio,
  type PreparedClip,
} from './prepare';
