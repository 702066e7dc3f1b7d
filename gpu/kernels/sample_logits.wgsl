// Samples one code per stream from logits (B, V) with the generator's rule: temperature,
// top-p nucleus and counter-based draws, as gpu/generate/sampler.ts states it (the CPU
// reference). The code goes to `current` (the next step's input) and to row `out_row` of
// `codes`. One invocation per stream walks the V classes serially: the greedy pass, the
// softmax mass, 30 bisection passes for the nucleus threshold, and the sampling walk, so
// an invocation runs about 34 V loop iterations. sample_uniform comes from sampler.wgsl,
// prepended by sample_logits.ts.

struct Params {
  batch: u32,
  classes: u32,
  // Draw counter of this sample: samples generated since the generator's reset.
  counter: u32,
  seed: u32,
  temperature: f32,
  top_p: f32,
  out_row: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> current: array<u32>;
@group(0) @binding(3) var<storage, read_write> codes: array<u32>;

const WORKGROUP_SIZE: u32 = 64u;
const NUCLEUS_BISECTION_STEPS: u32 = 30u;
const NONE: u32 = 0xffffffffu;

fn weight(base: u32, v: u32, top: f32, inv_t: f32) -> f32 {
  return exp((logits[base + v] - top) * inv_t);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let b = id.x;
  if (b >= params.batch) {
    return;
  }
  let V = params.classes;
  let base = b * V;

  // Greedy: the first maximum. NaN logits never compare greater.
  var top = -3.0e38;
  var greedy = 0u;
  for (var v = 0u; v < V; v++) {
    if (logits[base + v] > top) {
      top = logits[base + v];
      greedy = v;
    }
  }
  var code = greedy;

  if (params.temperature > 0.0) {
    let inv_t = 1.0 / params.temperature;
    var tau = 0.0;
    if (params.top_p < 1.0) {
      var total = 0.0;
      for (var v = 0u; v < V; v++) {
        total += weight(base, v, top, inv_t);
      }
      let wanted = params.top_p * total;
      // Largest tau whose tail mass sum_{w >= tau} w is >= wanted: bisection over the bit
      // patterns of non-negative floats, which sort like the floats. Invariant: mass(lo) >=
      // wanted, true for lo = 0. Once lo == hi, mid == lo and nothing changes.
      var lo = 0u;
      var hi = 0x3f800000u;
      for (var step = 0u; step < NUCLEUS_BISECTION_STEPS; step++) {
        let mid = lo + (hi - lo + 1u) / 2u;
        let cut = bitcast<f32>(mid);
        var tail = 0.0;
        for (var v = 0u; v < V; v++) {
          let w = weight(base, v, top, inv_t);
          if (w >= cut) {
            tail += w;
          }
        }
        if (tail >= wanted) {
          lo = mid;
        } else {
          hi = max(mid, 1u) - 1u;
        }
      }
      tau = bitcast<f32>(lo);
    }

    var mass = 0.0;
    for (var v = 0u; v < V; v++) {
      let w = weight(base, v, top, inv_t);
      if (w >= tau) {
        mass += w;
      }
    }
    let threshold = sample_uniform(params.seed, b, params.counter) * mass;
    var running = 0.0;
    var pick = NONE;
    for (var v = 0u; v < V; v++) {
      let w = weight(base, v, top, inv_t);
      if (w >= tau) {
        running += w;
        if (pick == NONE && w > 0.0 && running > threshold) {
          pick = v;
        }
      }
    }
    // Rounding can leave the threshold just past the mass walked, so fall back to the argmax, which every nucleus contains.
    code = select(pick, greedy, pick == NONE);
  }

  current[b] = code;
  codes[params.out_row * params.batch + b] = code;
}
