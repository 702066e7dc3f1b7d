import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import {
  linearDecode,
  linearEncode,
  muLawCompress,
  muLawDecode,
  muLawEncode,
  muLawExpand,
  ZERO_CODE,
} from '../../audio/mulaw';
import { readAudioFile } from '../../audio/node-file';
import { sharedAudioDir, sineWave, snrDb } from './helpers';

function meanError(reference: Float32Array, approximation: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) sum += approximation[i] - reference[i];
  return sum / reference.length;
}

function peakNormalized(samples: Float32Array): Float32Array {
  let peak = 0;
  for (const x of samples) peak = Math.max(peak, Math.abs(x));
  return samples.map((x) => x / peak);
}

describe('mu-law codes', () => {
  test('known values', () => {
    // 0.5 compands to ln(128.5) / ln(256) = 0.8757, in bin floor(1.8757 * 128) = 240.
    assert.deepEqual(Array.from(muLawEncode(Float32Array.from([-1, -0.5, 0, 0.5, 1]))), [0, 15, 128, 240, 255]);
    assert.equal(ZERO_CODE, 128);
  });

  test('out-of-range input clamps', () => {
    assert.deepEqual(Array.from(muLawEncode(Float32Array.from([-1.5, 1.5, Number.NaN, -Infinity, Infinity]))), [0, 255, 128, 0, 255]);
  });

  test('compress and expand invert', () => {
    for (let x = -1; x <= 1; x += 0.01) assert.ok(Math.abs(muLawExpand(muLawCompress(x)) - x) < 1e-12, `x = ${x}`);
    assert.equal(muLawCompress(1), 1);
    assert.equal(muLawCompress(-1), -1);
  });

  test('decoded codes encode to themselves', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, k) => k);
    assert.deepEqual(muLawEncode(muLawDecode(codes)), codes);
    assert.deepEqual(linearEncode(linearDecode(codes)), codes);
  });

  test('decoding is odd-symmetric', () => {
    const decoded = muLawDecode(Uint8Array.from({ length: 256 }, (_, k) => k));
    for (let k = 0; k < 128; k++) assert.equal(decoded[k], -decoded[255 - k], `code ${k}`);
    assert.ok(decoded[128] > 0, `code 128 decodes to ${decoded[128]}`);
    assert.ok(decoded[128] < 1e-4, `code 128 decodes to ${decoded[128]}`);
    assert.ok(decoded[255] < 1, `code 255 decodes to ${decoded[255]}`);
  });

  test('codes rise with the input', () => {
    const ramp = Float32Array.from({ length: 20001 }, (_, i) => i / 10000 - 1);
    const codes = muLawEncode(ramp);
    for (let i = 1; i < codes.length; i++) assert.ok(codes[i] >= codes[i - 1], `code falls at ${ramp[i]}`);
    assert.equal(new Set(codes).size, 256);
  });

  test('bins match the SaShiMi loader', () => {
    // That loader quantises (y + 1) / 2 with floor(v * 255.99 + 0.005). Its edges sit at most
    // 0.005 of a bin from ours, so only inputs that close to an edge may differ, by one code.
    const ramp = Float32Array.from({ length: 200001 }, (_, i) => i / 100000 - 1);
    const codes = muLawEncode(ramp);
    let differing = 0;
    for (let i = 0; i < ramp.length; i++) {
      const reference = Math.floor(((muLawCompress(ramp[i]) + 1) / 2) * 255.99 + 0.005);
      const difference = Math.abs(codes[i] - reference);
      assert.ok(difference <= 1, `x = ${ramp[i]}: ${codes[i]} vs ${reference}`);
      differing += difference;
    }
    assert.ok(differing / ramp.length < 0.01, `${differing} of ${ramp.length} codes differ`);
  });
});

describe('mu-law round trip', () => {
  test('error stays within the bin', () => {
    const ramp = Float32Array.from({ length: 20001 }, (_, i) => i / 10000 - 1);
    const decoded = muLawDecode(muLawEncode(ramp));
    for (let i = 0; i < ramp.length; i++) {
      const code = Math.min(255, Math.floor((muLawCompress(ramp[i]) + 1) * 128));
      const lower = muLawExpand(code / 128 - 1);
      const upper = muLawExpand((code + 1) / 128 - 1);
      assert.ok(decoded[i] >= lower, `x = ${ramp[i]} decoded to ${decoded[i]}, below its bin [${lower}, ${upper}]`);
      assert.ok(decoded[i] <= upper, `x = ${ramp[i]} decoded to ${decoded[i]}, above its bin [${lower}, ${upper}]`);
    }
  });

  test('full-scale sine: unbiased, 37 dB', (t) => {
    const sine = sineWave(440, 16000, 16000, 1);
    const decoded = muLawDecode(muLawEncode(sine));
    const snr = snrDb(sine, decoded);
    const bias = meanError(sine, decoded);
    t.diagnostic(`SNR ${snr.toFixed(2)} dB, mean error ${bias.toExponential(2)}`);
    assert.ok(snr > 37, `SNR ${snr} dB`);
    assert.ok(Math.abs(bias) < 1e-5, `mean error ${bias}`);
  });

  test('speech and piano: unbiased, 37 dB', async (t) => {
    const dir = sharedAudioDir();
    for (const file of [join('nasty', '00_source_Front_Center_s16_48k_mono.wav'), join('piano', 'reunion_16k.wav'), join('digits', 'flite_slt', '7_seven.wav')]) {
      const samples = peakNormalized((await readAudioFile(join(dir, file))).channelData[0]);
      const decoded = muLawDecode(muLawEncode(samples));
      const snr = snrDb(samples, decoded);
      const bias = meanError(samples, decoded);
      const linearSnr = snrDb(samples, linearDecode(linearEncode(samples)));
      t.diagnostic(`${file}: SNR ${snr.toFixed(2)} dB, mean error ${bias.toExponential(2)}; linear 8-bit SNR ${linearSnr.toFixed(2)} dB`);
      assert.ok(snr > 37, `${file}: SNR ${snr} dB`);
      // Silence encodes as 128 and decodes to +8.6e-5, the only asymmetry.
      assert.ok(Math.abs(bias) < 1e-4, `${file}: mean error ${bias}`);
    }
  });

  test('lower-edge decoding is biased', (t) => {
    // SaShiMi's decoder maps code k to the bin's lower edge, k / 128 - 1; the centre that
    // muLawDecode uses removes the resulting downward bias.
    const sine = sineWave(440, 16000, 16000, 1);
    const codes = muLawEncode(sine);
    const lowerEdge = Float32Array.from(codes, (code) => muLawExpand(code / 128 - 1));
    const centre = muLawDecode(codes);
    t.diagnostic(
      `full-scale sine, lower edge: SNR ${snrDb(sine, lowerEdge).toFixed(2)} dB, mean error ${meanError(sine, lowerEdge).toExponential(2)}; ` +
        `centre: SNR ${snrDb(sine, centre).toFixed(2)} dB, mean error ${meanError(sine, centre).toExponential(2)}`,
    );
    assert.ok(meanError(sine, lowerEdge) < -1e-3);
    assert.ok(snrDb(sine, centre) > snrDb(sine, lowerEdge) + 3);
  });

  test('positive-only signal stays unbiased', () => {
    // No sign symmetry to cancel errors: bias comes only from the bins' curvature.
    const ramp = Float32Array.from({ length: 100000 }, (_, i) => 0.2 + (0.2 * i) / 100000);
    const bias = meanError(ramp, muLawDecode(muLawEncode(ramp)));
    const binWidth = muLawExpand(muLawCompress(0.3) + 1 / 128) - 0.3;
    assert.ok(Math.abs(bias) < binWidth / 100, `mean error ${bias}, bin width ${binWidth}`);
  });
});

describe('linear 8-bit', () => {
  test('known values', () => {
    assert.deepEqual(Array.from(linearEncode(Float32Array.from([-1, -0.5, 0, 0.5, 1, 2]))), [0, 64, 128, 192, 255, 255]);
    assert.deepEqual(Array.from(linearDecode(Uint8Array.from([0, 128, 255]))), [-1 + 1 / 256, 1 / 256, 1 - 1 / 256]);
  });

  test('full-scale sine: unbiased, 48 dB', (t) => {
    const sine = sineWave(440, 16000, 16000, 1);
    const decoded = linearDecode(linearEncode(sine));
    const snr = snrDb(sine, decoded);
    t.diagnostic(`SNR ${snr.toFixed(2)} dB`);
    assert.ok(snr > 48, `SNR ${snr} dB`);
    assert.ok(Math.abs(meanError(sine, decoded)) < 1e-5);
  });
});
