// Linear-phase FIR filtering by FFT (overlap-save). For a few hundred taps this costs a
// small fraction of direct convolution, which is what makes a sharp anti-aliasing filter
// affordable at the input rate of a long clip.

/**
 * Radix-4 complex FFT of one power-of-four size, for convolution. The forward transform
 * (decimation in frequency) leaves the spectrum in base-4 digit-reversed order and the
 * inverse (decimation in time) takes that order back, so neither pays for a reordering
 * pass. Pointwise products of two spectra in the same order are unaffected.
 */
export class Fft {
  readonly size: number;
  /** cos and sin of 2 pi i / size for i in [0, size). */
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(size: number) {
    if (!(size >= 4 && Number.isInteger(Math.log2(size) / 2))) {
      throw new RangeError(`Fft: size must be a power of four, got ${size}`);
    }
    this.size = size;
    this.cos = new Float64Array(size);
    this.sin = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / size);
      this.sin[i] = Math.sin((2 * Math.PI * i) / size);
    }
  }

  /** X[m] = sum over n of x[n] e^(-2 pi i n m / N), in place, result in digit-reversed order. */
  forward(re: Float64Array, im: Float64Array): void {
    const n = this.size;
    const cos = this.cos;
    const sin = this.sin;
    for (let span = n; span >= 4; span >>= 2) {
      const quarter = span >> 2;
      const twiddleStep = n / span;
      for (let start = 0; start < n; start += span) {
        for (let k = 0; k < quarter; k++) {
          const i0 = start + k;
          const i1 = i0 + quarter;
          const i2 = i1 + quarter;
          const i3 = i2 + quarter;
          const sumEvenRe = re[i0] + re[i2];
          const sumEvenIm = im[i0] + im[i2];
          const diffEvenRe = re[i0] - re[i2];
          const diffEvenIm = im[i0] - im[i2];
          const sumOddRe = re[i1] + re[i3];
          const sumOddIm = im[i1] + im[i3];
          // -i * (x1 - x3)
          const rotatedRe = im[i1] - im[i3];
          const rotatedIm = re[i3] - re[i1];

          re[i0] = sumEvenRe + sumOddRe;
          im[i0] = sumEvenIm + sumOddIm;

          // Outputs 1..3 are multiplied by the twiddles w^k, w^2k, w^3k with w = e^(-2 pi i / span).
          const t = k * twiddleStep;
          let yRe = diffEvenRe + rotatedRe;
          let yIm = diffEvenIm + rotatedIm;
          let wRe = cos[t];
          let wIm = -sin[t];
          re[i1] = yRe * wRe - yIm * wIm;
          im[i1] = yRe * wIm + yIm * wRe;

          yRe = sumEvenRe - sumOddRe;
          yIm = sumEvenIm - sumOddIm;
          wRe = cos[2 * t];
          wIm = -sin[2 * t];
          re[i2] = yRe * wRe - yIm * wIm;
          im[i2] = yRe * wIm + yIm * wRe;

          yRe = diffEvenRe - rotatedRe;
          yIm = diffEvenIm - rotatedIm;
          wRe = cos[3 * t];
          wIm = -sin[3 * t];
          re[i3] = yRe * wRe - yIm * wIm;
          im[i3] = yRe * wIm + yIm * wRe;
        }
      }
    }
  }

  /** Inverse of forward() times N: takes digit-reversed order, returns natural order. */
  inverse(re: Float64Array, im: Float64Array): void {
    const n = this.size;
    const cos = this.cos;
    const sin = this.sin;
    for (let span = 4; span <= n; span <<= 2) {
      const quarter = span >> 2;
      const twiddleStep = n / span;
      for (let start = 0; start < n; start += span) {
        for (let k = 0; k < quarter; k++) {
          const i0 = start + k;
          const i1 = i0 + quarter;
          const i2 = i1 + quarter;
          const i3 = i2 + quarter;

          // Undo the forward twiddles: multiply by w^-k, w^-2k, w^-3k.
          const t = k * twiddleStep;
          let wRe = cos[t];
          let wIm = sin[t];
          const y1Re = re[i1] * wRe - im[i1] * wIm;
          const y1Im = re[i1] * wIm + im[i1] * wRe;
          wRe = cos[2 * t];
          wIm = sin[2 * t];
          const y2Re = re[i2] * wRe - im[i2] * wIm;
          const y2Im = re[i2] * wIm + im[i2] * wRe;
          wRe = cos[3 * t];
          wIm = sin[3 * t];
          const y3Re = re[i3] * wRe - im[i3] * wIm;
          const y3Im = re[i3] * wIm + im[i3] * wRe;

          const sumEvenRe = re[i0] + y2Re;
          const sumEvenIm = im[i0] + y2Im;
          const diffEvenRe = re[i0] - y2Re;
          const diffEvenIm = im[i0] - y2Im;
          const sumOddRe = y1Re + y3Re;
          const sumOddIm = y1Im + y3Im;
          // +i * (y1 - y3)
          const rotatedRe = y3Im - y1Im;
          const rotatedIm = y1Re - y3Re;

          re[i0] = sumEvenRe + sumOddRe;
          im[i0] = sumEvenIm + sumOddIm;
          re[i1] = diffEvenRe + rotatedRe;
          im[i1] = diffEvenIm + rotatedIm;
          re[i2] = sumEvenRe - sumOddRe;
          im[i2] = sumEvenIm - sumOddIm;
          re[i3] = diffEvenRe - rotatedRe;
          im[i3] = diffEvenIm - rotatedIm;
        }
      }
    }
  }
}

/** Smallest power of four that is at least 4096 and at least 4 times tapCount. */
function fftSizeFor(tapCount: number): number {
  return Math.max(4096, 4 ** Math.ceil(Math.log2(4 * tapCount) / 2));
}

/** A linear-phase FIR filter with an odd number of taps, prepared for overlap-save. */
export class FftFilter {
  readonly tapCount: number;
  private readonly fft: Fft;
  private readonly spectrumRe: Float64Array;
  private readonly spectrumIm: Float64Array;

  constructor(taps: Float64Array) {
    if (taps.length % 2 !== 1) throw new RangeError(`FftFilter: tap count must be odd, got ${taps.length}`);
    this.tapCount = taps.length;
    this.fft = new Fft(fftSizeFor(taps.length));
    const n = this.fft.size;
    this.spectrumRe = new Float64Array(n);
    this.spectrumIm = new Float64Array(n);
    this.spectrumRe.set(taps);
    this.fft.forward(this.spectrumRe, this.spectrumIm);
    // Fold the inverse transform's 1/N into the spectrum once.
    for (let k = 0; k < n; k++) {
      this.spectrumRe[k] /= n;
      this.spectrumIm[k] /= n;
    }
  }

  /**
   * Filters a whole signal, taken as zero outside it. The output has the input's length and
   * no delay: output[n] = sum over k of taps[k] * input[n + R - k], with R = (tapCount - 1) / 2.
   */
  apply(input: Float32Array): Float32Array {
    const n = this.fft.size;
    const halfLength = (this.tapCount - 1) / 2;
    const hop = n - this.tapCount + 1;
    const output = new Float32Array(input.length);
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    const spectrumRe = this.spectrumRe;
    const spectrumIm = this.spectrumIm;

    // Two real blocks share one complex FFT: block A in the real part, block B in the
    // imaginary part. The taps are real, so the filtered blocks come back in the same parts.
    for (let blockStart = 0; blockStart < input.length; blockStart += 2 * hop) {
      this.loadSegment(input, blockStart - halfLength, re);
      this.loadSegment(input, blockStart + hop - halfLength, im);

      this.fft.forward(re, im);
      for (let k = 0; k < n; k++) {
        const xr = re[k];
        const xi = im[k];
        re[k] = xr * spectrumRe[k] - xi * spectrumIm[k];
        im[k] = xr * spectrumIm[k] + xi * spectrumRe[k];
      }
      this.fft.inverse(re, im);

      // Circular convolution is exact from index tapCount - 1 on, which is output blockStart.
      const validFrom = this.tapCount - 1;
      const countA = Math.min(hop, input.length - blockStart);
      for (let i = 0; i < countA; i++) output[blockStart + i] = re[validFrom + i];
      const countB = Math.min(hop, input.length - blockStart - hop);
      for (let i = 0; i < countB; i++) output[blockStart + hop + i] = im[validFrom + i];
    }
    return output;
  }

  /** Copies input[from, from + size) into target, with zeros outside the input. */
  private loadSegment(input: Float32Array, from: number, target: Float64Array): void {
    const n = target.length;
    const lo = Math.max(0, -from);
    const hi = Math.max(lo, Math.min(n, input.length - from));
    target.fill(0, 0, lo);
    for (let i = lo; i < hi; i++) target[i] = input[from + i];
    target.fill(0, hi);
  }
}
