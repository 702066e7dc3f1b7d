// Scalar functions shared by the scan kernels; the TypeScript wrappers prepend this file to
// each kernel's source, because WGSL has no include.

// softplus(x) = log(1 + exp(x)), passing x through above 20 as PyTorch's threshold does.
// log(1 + e) in float32 keeps only the bits of e above 2^-24, so for e < 0.1 a Taylor
// series of log1p(e) is used (its first dropped term, e^9 / 9, is below 1.2e-10).
fn softplus(x: f32) -> f32 {
  if (x > 20.0) {
    return x;
  }
  let e = exp(x);
  if (e < 0.1) {
    return e * (1.0 - e * (0.5 - e * (1.0 / 3.0 - e * (0.25 - e * (0.2 - e * (1.0 / 6.0 - e * (1.0 / 7.0 - e * 0.125)))))));
  }
  return log(1.0 + e);
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

fn silu(x: f32) -> f32 {
  return x * sigmoid(x);
}
