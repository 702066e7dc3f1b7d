// Strided matrix views and the size checks shared by the dense kernels (matmul, conv1d,
// elementwise, reductions).
//
// A view is a row-major matrix inside a tensor: element (i, j) lives at element index
// colOffset + i * rowStride + j of the tensor. The Mamba block reads column slices this way,
// for example x_in = xz[:, 0:DI] is { tensor: xz, rowStride: 2 * DI, colOffset: 0 }. The
// shape has the same fields as the scan's ColumnView, so either can be passed.
import { elementCount, ShapeError, type Tensor } from '../context';

export interface MatrixView {
  tensor: Tensor;
  /** Elements between the starts of consecutive rows; 0 repeats one row (read-only views). */
  rowStride: number;
  /** Element index of column 0 of row 0. */
  colOffset: number;
}

/** Returns a view of the whole tensor as a (rows, cols) matrix with rowStride = cols. */
export function wholeMatrix(tensor: Tensor, cols: number): MatrixView {
  return { tensor, rowStride: cols, colOffset: 0 };
}

export function isNonNegativeInteger(value: number): boolean {
  return Number.isInteger(value) && value >= 0;
}

/** Throws ShapeError unless `value` is an integer in [min, max]. */
export function checkDim(kernel: string, name: string, value: number, min = 1, max = 2 ** 31 - 1): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ShapeError(`${kernel}: ${name} is ${value}; expected an integer in [${min}, ${max}].`);
  }
}

/**
 * Throws ShapeError unless a (rows, cols) view fits inside its tensor. Output views must
 * have rowStride >= cols so that no two elements share an address.
 */
export function checkView(kernel: string, name: string, view: MatrixView, rows: number, cols: number, isOutput = false): void {
  const { tensor, rowStride, colOffset } = view;
  if (!isNonNegativeInteger(rowStride) || !isNonNegativeInteger(colOffset)) {
    throw new ShapeError(`${kernel}: view ${name} of "${tensor.label}" has rowStride ${rowStride} and colOffset ${colOffset}; both must be non-negative integers.`);
  }
  if (rows === 0 || cols === 0) return;
  if (rows > 1 && rowStride < cols && (isOutput || rowStride !== 0)) {
    throw new ShapeError(
      `${kernel}: view ${name} of "${tensor.label}" has rowStride ${rowStride} < ${cols} columns, so rows overlap. ` +
        'Use rowStride >= cols (or 0 to repeat one row of a read-only input).',
    );
  }
  const lastIndex = colOffset + (rows - 1) * rowStride + cols - 1;
  const available = elementCount(tensor.shape);
  if (lastIndex >= available) {
    throw new ShapeError(
      `${kernel}: view ${name} (${rows} x ${cols}, rowStride ${rowStride}, colOffset ${colOffset}) reaches element ${lastIndex} ` +
        `but "${tensor.label}" [${tensor.shape}] has ${available} elements.`,
    );
  }
}

/** Throws ShapeError unless the tensor contains at least `count` elements. */
export function checkLength(kernel: string, name: string, tensor: Tensor, count: number): void {
  const available = elementCount(tensor.shape);
  if (available < count) {
    throw new ShapeError(`${kernel}: ${name} "${tensor.label}" [${tensor.shape}] has ${available} elements; ${count} are needed.`);
  }
}

/**
 * Throws ShapeError when an output shares its GPU buffer with another binding of the same
 * dispatch: WebGPU rejects a writable storage binding that aliases any other binding.
 */
export function checkNoAlias(kernel: string, output: Tensor, outputName: string, inputs: Record<string, Tensor | null | undefined>): void {
  for (const [name, input] of Object.entries(inputs)) {
    if (input && input.buffer === output.buffer) {
      throw new ShapeError(
        `${kernel}: output ${outputName} "${output.label}" shares its buffer with ${name} "${input.label}". ` +
          'WebGPU does not allow a written binding to alias another binding; use a separate output tensor.',
      );
    }
  }
}
