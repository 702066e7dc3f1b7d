// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
// header mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} relative
// to the byte after the header, an optional "__metadata__" object of strings, then the
// tensor bytes. This module writes F32 and reads F32, F16 and BF16 (converted to float32).

export interface SafetensorsTensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** The file is not valid safetensors; the message names the file and what is wrong. */
export class SafetensorsError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: not a valid safetensors file: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

const ELEMENT_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** Serialises tensors (in insertion order) and string metadata. */
export function encodeSafetensors(tensors: Map<string, SafetensorsTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (count !== tensor.data.length) {
      throw new Error(`encodeSafetensors: tensor ${name} has shape [${tensor.shape}] but ${tensor.data.length} values`);
    }
    header[name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }

  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  let json = JSON.stringify(header);
  const padding = (8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8;
  json += ' '.repeat(padding);
  const headerBytes = new TextEncoder().encode(json);

  const bytes = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of tensors.values()) {
    const data = tensor.data;
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return bytes;
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Parses a safetensors file; `source` names it in error messages. */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  if (bytes.byteLength < 8) throw new SafetensorsError(source, `only ${bytes.byteLength} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength <= 0 || 8 + headerLength > bytes.byteLength) {
    throw new SafetensorsError(source, `header length ${headerLength} does not fit in ${bytes.byteLength} bytes`);
  }

  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new SafetensorsError(source, `header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError(source, 'header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensor>();

  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [key, value] of Object.entries((entry ?? {}) as Record<string, unknown>)) metadata[key] = String(value);
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    const elementBytes = dtype ? ELEMENT_BYTES[dtype] : undefined;
    if (!elementBytes) throw new SafetensorsError(source, `tensor ${name} has dtype ${dtype}; supported: F32, F16, BF16`);
    if (!Array.isArray(shape) || shape.some((dim) => !Number.isInteger(dim) || dim < 0)) {
      throw new SafetensorsError(source, `tensor ${name} has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2) throw new SafetensorsError(source, `tensor ${name} has no data_offsets`);
    const [begin, end] = offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    if (!(begin >= 0 && end <= dataLength && end - begin === count * elementBytes)) {
      throw new SafetensorsError(
        source,
        `tensor ${name} of shape [${shape}] and dtype ${dtype} needs ${count * elementBytes} bytes, ` +
          `but its offsets [${begin}, ${end}] ${end > dataLength ? `run past the ${dataLength} data bytes` : 'disagree'}`,
      );
    }

    const data = new Float32Array(count);
    const at = bytes.byteOffset + dataStart + begin;
    const raw = new DataView(bytes.buffer, at, end - begin);
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(1);
    const asFloat = new Float32Array(bits.buffer);
    for (let i = 0; i < count; i++) {
      if (dtype === 'F32') data[i] = raw.getFloat32(4 * i, true);
      else if (dtype === 'F16') data[i] = halfToFloat(raw.getUint16(2 * i, true));
      else {
        bits[0] = raw.getUint16(2 * i, true) << 16;
        data[i] = asFloat[0];
      }
    }
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata };
}
