// Cross-lane operations of the generator kernel, emitted as WGSL statements in two ways.
// With subgroup builtins the whole workgroup is one subgroup, so no barrier and no
// workgroup memory is needed. Where the device has no subgroups (OpenGL ES, compatibility
// mode) they go through workgroup memory and barriers. Both give every lane the same results.
//
// Lane-distributed vectors: a lane owns a block of consecutive elements; "lane-blocked"
// below means lane j owns elements [j * size, (j + 1) * size).

/** Collects indented WGSL lines. */
export class WgslWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  line(text = ''): void {
    this.lines.push(text ? '  '.repeat(this.depth) + text : '');
  }

  /** Emits `header {`, the body, then `}`. */
  block(header: string, body: () => void): void {
    this.line(`${header} {`);
    this.depth++;
    body();
    this.depth--;
    this.line('}');
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

export interface Collectives {
  /** WGSL declarations the operations need at module scope (workgroup arrays). */
  declarations(): string;
  /** Every lane gets the sum over lanes of each vec4 in `inputs`. */
  sumVec4(out: WgslWriter, outputs: string[], inputs: string[]): void;
  /** Every lane gets the sum over lanes of a f32. */
  sumF32(out: WgslWriter, output: string, input: string): void;
  maxF32(out: WgslWriter, output: string, input: string): void;
  minU32(out: WgslWriter, output: string, input: string): void;
  /** Sum over lower lanes (`exclusive`) and over all lanes (`total`) of a f32. */
  scanF32(out: WgslWriter, exclusive: string, total: string, input: string): void;
  /**
   * Gathers a lane-blocked vector on every lane: lane j holds `inputs` (Q vec4); output
   * j * Q + q receives lane j's input q.
   */
  gatherVec4(out: WgslWriter, outputs: string[], inputs: string[]): void;
  /**
   * Sums n vec4 over lanes and leaves lane j with block j of the sums: outputs[q] = sum
   * over lanes of inputs[j * n / W + q], q < n / W.
   */
  reduceScatterVec4(out: WgslWriter, outputs: string[], inputs: string[]): void;
}

/**
 * The operations with subgroup builtins; needs `enable subgroups;` and W <= subgroup size.
 * Reductions are butterflies of subgroupShuffleXor rather than subgroupAdd and friends,
 * because lavapipe (Mesa 25.0) compiles a subgroupAdd about 50 times slower than a shuffle.
 * The butterfly gives every lane bit-identical results, as each stage adds the same two
 * operands on both partners.
 */
export class SubgroupCollectives implements Collectives {
  constructor(private readonly lanes: number) {}

  declarations(): string {
    return '';
  }

  private butterfly(out: WgslWriter, output: string, input: string, combine: (a: string, b: string) => string, type: string): void {
    if (this.lanes === 1) {
      out.line(`let ${output} = ${input};`);
      return;
    }
    out.line(`var ${output}: ${type} = ${input};`);
    for (let mask = this.lanes >> 1; mask >= 1; mask >>= 1) {
      out.line(`${output} = ${combine(output, `subgroupShuffleXor(${output}, ${mask}u)`)};`);
    }
  }

  sumVec4(out: WgslWriter, outputs: string[], inputs: string[]): void {
    inputs.forEach((input, i) => this.butterfly(out, outputs[i], input, (a, b) => `${a} + ${b}`, 'vec4f'));
  }

  sumF32(out: WgslWriter, output: string, input: string): void {
    this.butterfly(out, output, input, (a, b) => `${a} + ${b}`, 'f32');
  }

  maxF32(out: WgslWriter, output: string, input: string): void {
    this.butterfly(out, output, input, (a, b) => `max(${a}, ${b})`, 'f32');
  }

  minU32(out: WgslWriter, output: string, input: string): void {
    this.butterfly(out, output, input, (a, b) => `min(${a}, ${b})`, 'u32');
  }

  scanF32(out: WgslWriter, exclusive: string, total: string, input: string): void {
    // Inclusive scan by doubling shifts, then the exclusive one by one more shift, so no
    // lane computes its prefix by subtraction.
    const inclusive = `${exclusive}_inclusive`;
    out.line(`var ${inclusive} = ${input};`);
    for (let offset = 1; offset < this.lanes; offset *= 2) {
      out.line(`${inclusive} += select(0.0, subgroupShuffleUp(${inclusive}, ${offset}u), lane >= ${offset}u);`);
    }
    out.line(`let ${exclusive} = select(0.0, subgroupShuffleUp(${inclusive}, 1u), lane >= 1u);`);
    out.line(`let ${total} = subgroupBroadcast(${inclusive}, ${this.lanes - 1}u);`);
  }

  gatherVec4(out: WgslWriter, outputs: string[], inputs: string[]): void {
    for (let lane = 0; lane < this.lanes; lane++) {
      inputs.forEach((input, q) => out.line(`let ${outputs[lane * inputs.length + q]} = subgroupBroadcast(${input}, ${lane}u);`));
    }
  }

  reduceScatterVec4(out: WgslWriter, outputs: string[], inputs: string[]): void {
    // At each stage the lanes with bit `mask` set keep the upper half of the remaining
    // vectors, add their partner's copy of that half, and hand over the lower half.
    let current = inputs;
    let stage = 0;
    for (let mask = this.lanes >> 1; mask >= 1; mask >>= 1, stage++) {
      const half = current.length / 2;
      const upper = `upper_${outputs[0]}_${stage}`;
      out.line(`let ${upper} = (lane & ${mask}u) != 0u;`);
      const next: string[] = [];
      for (let i = 0; i < half; i++) {
        const name = mask === 1 ? outputs[i] : `rs_${outputs[0]}_${stage}_${i}`;
        const low = current[i];
        const high = current[i + half];
        out.line(`let ${name} = select(${low}, ${high}, ${upper}) + subgroupShuffleXor(select(${high}, ${low}, ${upper}), ${mask}u);`);
        next.push(name);
      }
      current = next;
    }
    if (this.lanes === 1) inputs.forEach((input, i) => out.line(`let ${outputs[i]} = ${input};`));
  }
}

/**
 * The same operations through workgroup memory. Every operation writes, waits at a
 * barrier, reads, and waits again before the memory is reused; callers must reach each
 * operation in uniform control flow.
 */
export class WorkgroupCollectives implements Collectives {
  /** vec4 slots the largest operation needs; grows as operations are emitted. */
  private vec4Slots = 1;

  constructor(private readonly lanes: number) {}

  /** Bytes of workgroup memory the emitted operations use. */
  workgroupBytes(): number {
    return this.vec4Slots * 16 + this.lanes * 8;
  }

  declarations(): string {
    return [
      `var<workgroup> exchange_v4: array<vec4f, ${this.vec4Slots}>;`,
      `var<workgroup> exchange_f32: array<f32, ${this.lanes}>;`,
      `var<workgroup> exchange_u32: array<u32, ${this.lanes}>;`,
    ].join('\n');
  }

  private reserve(slots: number): void {
    this.vec4Slots = Math.max(this.vec4Slots, slots);
  }

  private sumOverLanes(array: string, base: string): string {
    return Array.from({ length: this.lanes }, (_, j) => `${array}[${base} + ${j}u]`).join(' + ');
  }

  /**
   * Writes inputs[i] to exchange_v4[i * W + lane] from a single store site in a loop, the
   * value picked by a select chain, because lavapipe compiles each store site for about 0.2 s.
   */
  private writeVec4s(out: WgslWriter, inputs: string[]): void {
    const W = this.lanes;
    this.reserve(inputs.length * W);
    if (inputs.length === 1) {
      out.line(`exchange_v4[lane] = ${inputs[0]};`);
      return;
    }
    out.block(`for (var slot = 0u; slot < ${inputs.length}u; slot++)`, () => {
      const picked = inputs.slice(1).reduce((chosen, value, i) => `select(${chosen}, ${value}, slot == ${i + 1}u)`, inputs[0]);
      out.line(`exchange_v4[slot * ${W}u + lane] = ${picked};`);
    });
  }

  sumVec4(out: WgslWriter, outputs: string[], inputs: string[]): void {
    const W = this.lanes;
    this.writeVec4s(out, inputs);
    out.line('workgroupBarrier();');
    inputs.forEach((_, i) => out.line(`let ${outputs[i]} = ${this.sumOverLanes('exchange_v4', `${i * W}u`)};`));
    out.line('workgroupBarrier();');
  }

  sumF32(out: WgslWriter, output: string, input: string): void {
    out.line(`exchange_f32[lane] = ${input};`);
    out.line('workgroupBarrier();');
    out.line(`let ${output} = ${this.sumOverLanes('exchange_f32', '0u')};`);
    out.line('workgroupBarrier();');
  }

  private fold(out: WgslWriter, output: string, input: string, array: string, fn: string): void {
    out.line(`${array}[lane] = ${input};`);
    out.line('workgroupBarrier();');
    let expression = `${array}[0]`;
    for (let j = 1; j < this.lanes; j++) expression = `${fn}(${expression}, ${array}[${j}])`;
    out.line(`let ${output} = ${expression};`);
    out.line('workgroupBarrier();');
  }

  maxF32(out: WgslWriter, output: string, input: string): void {
    this.fold(out, output, input, 'exchange_f32', 'max');
  }

  minU32(out: WgslWriter, output: string, input: string): void {
    this.fold(out, output, input, 'exchange_u32', 'min');
  }

  scanF32(out: WgslWriter, exclusive: string, total: string, input: string): void {
    out.line(`exchange_f32[lane] = ${input};`);
    out.line('workgroupBarrier();');
    // Sums in lane order, the order the owning lane's local scan continues.
    out.line(`var ${exclusive} = 0.0;`);
    for (let j = 0; j < this.lanes - 1; j++) out.line(`${exclusive} += select(0.0, exchange_f32[${j}], ${j}u < lane);`);
    let sum = 'exchange_f32[0]';
    for (let j = 1; j < this.lanes; j++) sum = `(${sum} + exchange_f32[${j}])`;
    out.line(`let ${total} = ${sum};`);
    out.line('workgroupBarrier();');
  }

  gatherVec4(out: WgslWriter, outputs: string[], inputs: string[]): void {
    const W = this.lanes;
    this.writeVec4s(out, inputs);
    out.line('workgroupBarrier();');
    for (let lane = 0; lane < W; lane++) {
      inputs.forEach((_, q) => out.line(`let ${outputs[lane * inputs.length + q]} = exchange_v4[${q * W + lane}u];`));
    }
    out.line('workgroupBarrier();');
  }

  reduceScatterVec4(out: WgslWriter, outputs: string[], inputs: string[]): void {
    const W = this.lanes;
    const block = inputs.length / W;
    this.writeVec4s(out, inputs);
    out.line('workgroupBarrier();');
    for (let q = 0; q < block; q++) {
      out.line(`let ${outputs[q]} = ${this.sumOverLanes('exchange_v4', `(lane * ${block}u + ${q}u) * ${W}u`)};`);
    }
    out.line('workgroupBarrier();');
  }
}
