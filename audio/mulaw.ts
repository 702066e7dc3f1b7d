// 8-bit quantisers that turn samples in [-1, 1] into the 256 classes the model predicts.
//
// Mu-law (mu = 255) compands first, y = sign(x) ln(1 + mu |x|) / ln(1 + mu), then splits
// y in [-1, 1] into 256 bins of width 1/128: code k covers y in [k/128 - 1, (k+1)/128 - 1),
// and y = 1 joins the top bin. These are the bins of SaShiMi's loader (state-spaces/s4,
// src/dataloaders/audio.py), which cuts at (k - 0.005) / 255.99 on the [0, 1] scale so
// that y = 1 lands in code 255; its bin edges differ from ours by at most 0.005 of a bin.
// Zero lands on a bin edge and encodes as 128, the code that loader pads with.
//
// Decoding returns the centre of the bin in the companded domain. SaShiMi's decoder returns
// the lower edge, k/128 - 1, which biases every decoded sample by half a bin downwards.
// The centre removes that bias, so encode/decode errors average to zero on audio without DC.
//
// Linear 8-bit uses the same 256 bins on x itself.

export const MU_LAW_MU = 255;
export const CODE_COUNT = 256;
/** The code of silence for both quantisers. */
export const ZERO_CODE = 128;

const LOG1P_MU = Math.log1p(MU_LAW_MU);

/** Bin index of a value in [-1, 1]. Values outside are clamped, and NaN gives ZERO_CODE. */
function binOf(value: number): number {
  if (Number.isNaN(value)) return ZERO_CODE;
  const code = Math.floor((value + 1) * 128);
  if (code < 0) return 0;
  if (code > 255) return 255;
  return code;
}

/** Mu-law compands one sample: sign(x) ln(1 + 255 |x|) / ln(256). */
export function muLawCompress(sample: number): number {
  const magnitude = Math.log1p(MU_LAW_MU * Math.abs(sample)) / LOG1P_MU;
  return sample < 0 ? -magnitude : magnitude;
}

/** Inverse of muLawCompress: sign(y) ((1 + mu)^|y| - 1) / mu. */
export function muLawExpand(companded: number): number {
  const magnitude = Math.expm1(Math.abs(companded) * LOG1P_MU) / MU_LAW_MU;
  return companded < 0 ? -magnitude : magnitude;
}

/** Encodes samples to mu-law codes 0..255. Samples beyond [-1, 1] are clamped first. */
export function muLawEncode(samples: Float32Array): Uint8Array {
  const codes = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const sample = Math.max(-1, Math.min(1, samples[i]));
    codes[i] = binOf(muLawCompress(sample));
  }
  return codes;
}

/** Decoded value of every mu-law code: the bin centre, expanded. */
const MU_LAW_TABLE = (() => {
  const table = new Float32Array(CODE_COUNT);
  for (let k = 0; k < CODE_COUNT; k++) table[k] = muLawExpand((k + 0.5) / 128 - 1);
  return table;
})();

/** Decodes mu-law codes 0..255 to samples in (-1, 1). */
export function muLawDecode(codes: Uint8Array): Float32Array {
  const samples = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) samples[i] = MU_LAW_TABLE[codes[i]];
  return samples;
}

/** Encodes samples to linear 8-bit codes 0..255 (bins of width 1/128 on x). */
export function linearEncode(samples: Float32Array): Uint8Array {
  const codes = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) codes[i] = binOf(samples[i]);
  return codes;
}

/** Decodes linear 8-bit codes to bin centres, (k + 0.5) / 128 - 1. */
export function linearDecode(codes: Uint8Array): Float32Array {
  const samples = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) samples[i] = (codes[i] + 0.5) / 128 - 1;
  return samples;
}

/** The two quantisers, by name. */
export type Quantization = 'mu-law' | 'linear';

export function encodeSamples(samples: Float32Array, quantization: Quantization): Uint8Array {
  return quantization === 'mu-law' ? muLawEncode(samples) : linearEncode(samples);
}

export function decodeCodes(codes: Uint8Array, quantization: Quantization): Float32Array {
  return quantization === 'mu-law' ? muLawDecode(codes) : linearDecode(codes);
}
