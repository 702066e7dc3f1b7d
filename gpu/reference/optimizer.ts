// CPU reference of AdamW (torch.optim.AdamW's update) and of the global gradient norm with
// clipping, in float64 over float32 data.

export interface AdamWRefArgs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1 for the first update. */
  step: number;
  decay: boolean;
}

/** Applies one AdamW step to param, m and v in place. */
export function adamWRef(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, args: AdamWRefArgs): void {
  const biasCorrection1 = 1 - args.beta1 ** args.step;
  const biasCorrection2 = 1 - args.beta2 ** args.step;
  const decayFactor = 1 - args.lr * (args.decay ? args.weightDecay : 0);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] = m[i] + (1 - args.beta1) * (g - m[i]);
    v[i] = args.beta2 * v[i] + (1 - args.beta2) * g * g;
    const denominator = Math.sqrt(v[i]) / Math.sqrt(biasCorrection2) + args.eps;
    param[i] = param[i] * decayFactor - ((args.lr / biasCorrection1) * m[i]) / denominator;
  }
}

/** Computes the global L2 norm of all grads and the clip scale min(1, maxNorm / (norm + 1e-6)). */
export function gradNormRef(grads: Float32Array[], maxNorm: number): { norm: number; scale: number; nonFinite: boolean } {
  let sum = 0;
  for (const grad of grads) for (const value of grad) sum += value * value;
  const norm = Math.sqrt(sum);
  const nonFinite = !Number.isFinite(sum);
  return { norm, scale: nonFinite ? 1 : Math.min(1, maxNorm / (norm + 1e-6)), nonFinite };
}
