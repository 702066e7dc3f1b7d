// The CPU reference scan against the authors' selective_scan_ref outputs and autograd
// gradients, for every case in the oracle files.
import { describe, test } from 'node:test';

import { selectiveScanBackwardRef, selectiveScanRef } from '../../gpu/reference/scan';
import { assertClose } from '../support/compare';
import { f32, loadOracle } from '../support/oracle';
import { convertCase, rowsBack, toChannelsFirst, toTimeMajor, type OracleScanCase } from '../support/scan-cases';

const SHORT = { rtol: 1e-5, atol: 1e-6 };
const GRAD = { rtol: 1e-4, atol: 1e-6 };

for (const file of ['scan_flags.json', 'scan_shapes.json', 'scan_grads.json', 'scan_long_realistic.json']) {
  describe(`scan reference vs ${file}`, () => {
    const cases: OracleScanCase[] = loadOracle(file).cases;
    for (const c of cases) {
      test(c.name, () => {
        const { dims, inputs } = convertCase(c);
        const tolerance = dims.L > 64 ? { rtol: 1e-4, atol: 1e-6 } : SHORT;
        const { out, hLast } = selectiveScanRef(dims, inputs);
        assertClose(toChannelsFirst(out, dims.B, dims.DI, dims.L), f32(c.outputs.out), tolerance, `${c.name} out`);
        if (c.outputs.last_state) assertClose(hLast, f32(c.outputs.last_state), tolerance, `${c.name} last_state`);
      });
    }
  });
}

describe('scan reference gradients vs scan_grads.json', () => {
  const cases: OracleScanCase[] = loadOracle('scan_grads.json').cases;
  for (const c of cases) {
    test(c.name, () => {
      const converted = convertCase(c);
      const { dims, inputs, layoutB, layoutC } = converted;
      const { B, L, DI, N, G } = dims;
      const grads = c.grads!;
      const dout = toTimeMajor(f32(grads.dout), B, DI, L);
      const result = selectiveScanBackwardRef(dims, inputs, dout);

      assertClose(toChannelsFirst(result.du, B, DI, L), f32(grads.du), GRAD, 'du');
      assertClose(toChannelsFirst(result.ddelta, B, DI, L), f32(grads.ddelta), GRAD, 'ddelta');
      assertClose(result.dA, f32(grads.dA), GRAD, 'dA');
      assertClose(rowsBack(result.dB, layoutB, B, DI, N, L, G), f32(grads.dB), GRAD, 'dB');
      assertClose(rowsBack(result.dC, layoutC, B, DI, N, L, G), f32(grads.dC), GRAD, 'dC');
      if (grads.dD) assertClose(result.dD, f32(grads.dD), GRAD, 'dD');
      if (grads.dz) assertClose(toChannelsFirst(result.dz, B, DI, L), f32(grads.dz), GRAD, 'dz');
      if (grads.ddelta_bias) assertClose(result.ddeltaBias, f32(grads.ddelta_bias), GRAD, 'ddelta_bias');
    });
  }
});
