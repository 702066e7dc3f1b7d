// CPU reference of the element-wise ops in gpu/kernels/elementwise.wgsl, in float64.

/** PyTorch's softplus threshold: softplus(x) = x for x > 20. */
export const SOFTPLUS_THRESHOLD = 20;

export function sigmoidRef(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function siluRef(x: number): number {
  return x * sigmoidRef(x);
}

/** d silu(x) / dx = s (1 + x (1 - s)) with s = sigmoid(x). */
export function siluGradRef(x: number): number {
  const s = sigmoidRef(x);
  return s * (1 + x * (1 - s));
}

export function softplusRef(x: number): number {
  return x > SOFTPLUS_THRESHOLD ? x : Math.log1p(Math.exp(x));
}

/** d softplus(x) / dx, 1 above the threshold as in PyTorch's backward. */
export function softplusGradRef(x: number): number {
  return x > SOFTPLUS_THRESHOLD ? 1 : sigmoidRef(x);
}

export type ElementwiseOpRef = 'scale' | 'add' | 'mul' | 'silu' | 'siluBackward' | 'softplus' | 'softplusBackward';

/** Returns f(x, y) for one element, as the kernel's OP values define it. */
export function elementwiseRef(op: ElementwiseOpRef, x: number, y: number, alpha = 1): number {
  switch (op) {
    case 'scale':
      return alpha * x;
    case 'add':
      return x + alpha * y;
    case 'mul':
      return x * y;
    case 'silu':
      return siluRef(x);
    case 'siluBackward':
      return y * siluGradRef(x);
    case 'softplus':
      return softplusRef(x);
    case 'softplusBackward':
      return y * softplusGradRef(x);
  }
}
