// Packs a model's weights into one rgba32float texture for the generator kernel.
//
// Why a texture: on lavapipe (Mesa 25.0, Vulkan, 8-lane AVX2) a storage-buffer read at an
// address that differs per lane becomes 8 scalar loads behind bounds checks, about 4 ns per
// weight. A textureLoad fetches a texel for all 8 lanes at once: about 1.6 ns per weight
// from a sampled texture and 0.8 ns from a read-only storage texture, which the kernel
// binds (measured on the project's two-core machines).
//
// The texture holds "items", each a run of texels, a texel being 4 consecutive floats along
// the dimension the kernel reduces over. A texture row holds RW = TW * W texels, W being
// the kernel's lanes. In the loops every lane reads texel t of its own item, so items are
// interleaved: the W items a loop iteration reads share one row, texel t of lane j at
// column t * W + j. A fetch for 8 lanes then reads 128 contiguous bytes instead of 16 bytes
// from each of 8 rows, which halved lavapipe's time in its fetch routine. Arrangements:
//
//   rows         item i is row i, texel t at column t (read by all lanes together)
//   interleaved  item i is in row i / W, texel t at column t * W + i % W
//   lane-blocked item i belongs to lane j = i / (items / W) and is in row i % (items / W),
//                texel t at column t * W + j
//
// Blocks, in this order:
//   embedding   rows          V items x D/4 texels: embedding[v, :]
//   per layer:
//     in_proj   interleaved   2 DI items x D/4: in_proj[o, :] * norm.weight (norm folded in)
//     x_proj^T  interleaved   DI items x XT: x_proj[:, d] (selective layers only)
//     x_bias    interleaved   1 item x XT: the constant [dt | B | C] row (non-selective only)
//     channel   interleaved   DI items x CT: [conv1d.weight[d] (KT) | conv bias, dt bias, D, 0 |
//                                           dt_proj[d, :] (RT) | A[d, :] = -exp(A_log) (NP/4)]
//     out_proj^T interleaved  DI items x D/4: out_proj[:, d]
//   head        lane-blocked  VP items x D/4: lm_head[v, :] * norm_f.weight (zero for v >= V)
//
// with XT = ceil((R + 2N) / 4), KT = ceil(K / 4), RT = ceil(R / 4), NP = N rounded up to a
// multiple of 4, VP = V rounded up to a multiple of 4 * W, and TW the largest of D/4, XT
// and CT. Padding is zero, so padded state entries stay zero and padded logits are masked
// by the kernel. Rows past maxTextureDimension2D continue in another page of RW columns.
import { EMBEDDING, FINAL_NORM, HEAD, innerWidth, layerParameterNames, type ModelConfig } from '../model/config';
import type { ParameterMap } from '../model/init';
import { ShapeError } from '../context';

export type Arrangement = 'rows' | 'interleaved' | 'lane-blocked';

/** Placement of one block of items in the texture. */
export interface ItemBlock {
  arrangement: Arrangement;
  firstRow: number;
  items: number;
  texelsPerItem: number;
  /** Texture rows the block takes. */
  rows: number;
}

export interface LayerBlocks {
  inProj: ItemBlock;
  /** Null for a non-selective layer. */
  xProjT: ItemBlock | null;
  /** Null for a selective layer. */
  xBias: ItemBlock | null;
  channel: ItemBlock;
  outProjT: ItemBlock;
}

export interface WeightLayout {
  D: number;
  DI: number;
  N: number;
  /** N rounded up to a multiple of 4. */
  NP: number;
  R: number;
  K: number;
  V: number;
  /** V rounded up to a multiple of 4 * lanes. */
  VP: number;
  /** Lanes W the interleaving is for. */
  lanes: number;
  /** Texels of x_proj output per item: ceil((R + 2N) / 4). */
  XT: number;
  /** Texels of conv weights and of the dt_proj row in the channel table. */
  KT: number;
  RT: number;
  /** Texels per channel-table item. */
  CT: number;
  /** Texels per item slot of an interleaved row; a row contains TW * lanes texels. */
  TW: number;
  /** Texture rows per page, at most maxTextureDimension2D. */
  pageRows: number;
  pages: number;
  totalRows: number;
  embedding: ItemBlock;
  layers: LayerBlocks[];
  head: ItemBlock;
  /** Texture size in texels. */
  width: number;
  height: number;
}

function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/** Computes the texture layout for a model and a lane count; throws ShapeError if it cannot fit. */
export function planWeightLayout(config: ModelConfig, lanes: number, maxTextureDimension: number): WeightLayout {
  const D = config.dModel;
  const DI = innerWidth(config);
  const N = config.dState;
  const R = config.dtRank;
  const K = config.dConv;
  const V = config.vocabSize;
  const NP = ceilDiv(N, 4) * 4;
  const VP = ceilDiv(V, 4 * lanes) * 4 * lanes;
  const XT = ceilDiv(R + 2 * N, 4);
  const KT = ceilDiv(K, 4);
  const RT = ceilDiv(R, 4);
  const CT = KT + 1 + RT + NP / 4;
  const TW = Math.max(D / 4, XT, CT);
  if (DI % lanes !== 0) throw new ShapeError(`generator: the inner width ${DI} is not a multiple of ${lanes} lanes`);

  let row = 0;
  const block = (arrangement: Arrangement, items: number, texelsPerItem: number): ItemBlock => {
    const rows = arrangement === 'rows' ? items : ceilDiv(items, lanes);
    const result = { arrangement, firstRow: row, items, texelsPerItem, rows };
    row += rows;
    return result;
  };

  const embedding = block('rows', V, D / 4);
  const layers: LayerBlocks[] = [];
  for (let layer = 0; layer < config.nLayers; layer++) {
    const selective = config.selective[layer];
    layers.push({
      inProj: block('interleaved', 2 * DI, D / 4),
      xProjT: selective ? block('interleaved', DI, XT) : null,
      xBias: selective ? null : block('interleaved', 1, XT),
      channel: block('interleaved', DI, CT),
      outProjT: block('interleaved', DI, D / 4),
    });
  }
  const head = block('lane-blocked', VP, D / 4);

  const totalRows = row;
  const pageRows = Math.min(totalRows, maxTextureDimension);
  const pages = ceilDiv(totalRows, pageRows);
  if (pages * TW * lanes > maxTextureDimension) {
    throw new ShapeError(
      `generator: the weights need ${totalRows} texture rows of ${TW * lanes} texels, more than a ` +
        `${maxTextureDimension} x ${maxTextureDimension} texture holds. Use a smaller model.`,
    );
  }
  return {
    D, DI, N, NP, R, K, V, VP, lanes, XT, KT, RT, CT, TW, pageRows, pages, totalRows,
    embedding, layers, head, width: pages * TW * lanes, height: pageRows,
  };
}

/** Texture row and column of texel t of item `item` in `block`, before paging. */
export function texelPosition(layout: WeightLayout, block: ItemBlock, item: number, t: number): { row: number; column: number } {
  const W = layout.lanes;
  switch (block.arrangement) {
    case 'rows':
      return { row: block.firstRow + item, column: t };
    case 'interleaved':
      return { row: block.firstRow + Math.floor(item / W), column: t * W + (item % W) };
    case 'lane-blocked': {
      const perLane = block.items / W;
      return { row: block.firstRow + (item % perLane), column: t * W + Math.floor(item / perLane) };
    }
  }
}

/** Packs the texture contents, (height, width, 4) floats, in the layout planWeightLayout computed. */
export function packWeights(config: ModelConfig, params: ParameterMap, layout: WeightLayout): Float32Array<ArrayBuffer> {
  const { D, DI, N, R, K, V, KT, RT, TW, lanes, pageRows, width, height } = layout;
  const texture = new Float32Array(width * height * 4);
  const get = (name: string, length: number): Float32Array => {
    const values = params.get(name);
    if (!values) throw new Error(`generator: parameter ${name} is missing from the parameter map.`);
    if (values.length !== length) throw new ShapeError(`generator: parameter ${name} has ${values.length} values, expected ${length}.`);
    return values;
  };

  // Writes item `item` of `block`; `fill` sets the item's floats, which start at zero.
  const writeItem = (block: ItemBlock, item: number, fill: (floats: Float32Array) => void): void => {
    const floats = new Float32Array(block.texelsPerItem * 4);
    fill(floats);
    for (let t = 0; t < block.texelsPerItem; t++) {
      const { row, column } = texelPosition(layout, block, item, t);
      const page = Math.floor(row / pageRows);
      const x = page * TW * lanes + column;
      const y = row % pageRows;
      texture.set(floats.subarray(t * 4, t * 4 + 4), (y * width + x) * 4);
    }
  };

  const embedding = get(EMBEDDING, V * D);
  for (let v = 0; v < V; v++) writeItem(layout.embedding, v, (f) => f.set(embedding.subarray(v * D, (v + 1) * D)));

  for (let layer = 0; layer < config.nLayers; layer++) {
    const names = layerParameterNames(layer);
    const blocks = layout.layers[layer];
    const norm = get(names.norm, D);
    const inProj = get(names.inProj, 2 * DI * D);
    for (let o = 0; o < 2 * DI; o++) {
      writeItem(blocks.inProj, o, (f) => {
        for (let i = 0; i < D; i++) f[i] = inProj[o * D + i] * norm[i];
      });
    }

    if (blocks.xProjT) {
      const xProj = get(names.xProjWeight, (R + 2 * N) * DI);
      for (let d = 0; d < DI; d++) {
        writeItem(blocks.xProjT, d, (f) => {
          for (let o = 0; o < R + 2 * N; o++) f[o] = xProj[o * DI + d];
        });
      }
    } else {
      const xBias = get(names.xProjBias, R + 2 * N);
      writeItem(blocks.xBias!, 0, (f) => f.set(xBias));
    }

    const convWeight = get(names.convWeight, DI * K);
    const convBias = get(names.convBias, DI);
    const dtWeight = get(names.dtProjWeight, DI * R);
    const dtBias = get(names.dtProjBias, DI);
    const aLog = get(names.aLog, DI * N);
    const skip = get(names.D, DI);
    for (let d = 0; d < DI; d++) {
      writeItem(blocks.channel, d, (f) => {
        for (let k = 0; k < K; k++) f[k] = convWeight[d * K + k];
        const misc = 4 * KT;
        f[misc] = convBias[d];
        f[misc + 1] = dtBias[d];
        f[misc + 2] = skip[d];
        const dt = 4 * (KT + 1);
        for (let r = 0; r < R; r++) f[dt + r] = dtWeight[d * R + r];
        const a = 4 * (KT + 1 + RT);
        for (let n = 0; n < N; n++) f[a + n] = -Math.exp(aLog[d * N + n]);
      });
    }

    const outProj = get(names.outProj, D * DI);
    for (let d = 0; d < DI; d++) {
      writeItem(blocks.outProjT, d, (f) => {
        for (let o = 0; o < D; o++) f[o] = outProj[o * DI + d];
      });
    }
  }

  const head = get(HEAD, V * D);
  const finalNorm = get(FINAL_NORM, D);
  for (let v = 0; v < V; v++) {
    writeItem(layout.head, v, (f) => {
      for (let i = 0; i < D; i++) f[i] = head[v * D + i] * finalNorm[i];
    });
  }
  return texture;
}

/** Returns the kernel's layer table: per layer, (in_proj, x_proj^T, channel, out_proj^T) first rows, then (selective, x bias row, 0, 0). */
export function layerTableData(layout: WeightLayout): Uint32Array<ArrayBuffer> {
  const table = new Uint32Array(8 * layout.layers.length);
  layout.layers.forEach((blocks, layer) => {
    table.set(
      [blocks.inProj.firstRow, blocks.xProjT?.firstRow ?? 0, blocks.channel.firstRow, blocks.outProjT.firstRow, blocks.xProjT ? 1 : 0, blocks.xBias?.firstRow ?? 0, 0, 0],
      8 * layer,
    );
  });
  return table;
}
