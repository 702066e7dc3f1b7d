// Adapter and device acquisition that works in a browser page, a Web Worker and Node.
//
// The engine is designed for the WebGPU default limits (128 MiB per storage binding, 256
// invocations per workgroup, 16 KiB of workgroup memory, 65,535 workgroups per dimension,
// no f16) and requests larger limits only where the adapter offers them.

/** Adapter request that succeeded, from most to least capable. */
export type AdapterMode = 'core' | 'compatibility' | 'fallback';

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  mode: AdapterMode;
  /** A human-readable adapter name, for the UI and benchmark records. */
  adapterName: string;
  /** True for software or fallback adapters, which the UI should point out. */
  isFallbackAdapter: boolean;
}

export class NoAdapterError extends Error {
  constructor(tried: string[]) {
    super(
      `No WebGPU adapter is available (tried ${tried.join(', ')}). ` +
        'In Chromium start with --enable-unsafe-webgpu; in Node install a Vulkan driver ' +
        '(for example Mesa lavapipe) or libEGL for the OpenGL ES fallback. See the README.',
    );
    this.name = 'NoAdapterError';
  }
}

export interface AcquireOptions {
  /** Skip the core adapter request and go straight to compatibility mode. */
  compatibilityOnly?: boolean;
  /** Label given to the device, shown in validation messages. */
  label?: string;
}

/** Limits the engine benefits from; each is raised to the adapter's value when larger. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * Optional features used when present: timestamps for benchmarks; subgroups for the
 * generator kernel, which then exchanges values between lanes without barriers.
 */
const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups'];

function adapterName(adapter: GPUAdapter): string {
  const info = adapter.info;
  return [info?.vendor, info?.architecture, info?.device, info?.description].filter((part) => part).join(' ') || 'unknown adapter';
}

function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info?.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|software/i.test(adapterName(adapter));
}

async function openDevice(adapter: GPUAdapter, mode: AdapterMode, isFallbackAdapter: boolean, options: AcquireOptions): Promise<AcquiredDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = adapter.limits[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((feature) => adapter.features.has(feature));
  const device = await adapter.requestDevice({
    label: options.label ?? 'mamba-audio engine',
    requiredLimits,
    requiredFeatures,
  });
  return { device, adapter, mode, adapterName: adapterName(adapter), isFallbackAdapter };
}

/**
 * Requests an adapter, preferring a real one, then compatibility mode, then a fallback
 * (software) adapter, and opens a device on it. Throws NoAdapterError when all fail.
 */
export async function acquireDevice(gpu: GPU, options: AcquireOptions = {}): Promise<AcquiredDevice> {
  const attempts: Array<{ mode: AdapterMode; request: GPURequestAdapterOptions }> = [];
  if (!options.compatibilityOnly) {
    attempts.push({ mode: 'core', request: { powerPreference: 'high-performance' } });
  }
  attempts.push({ mode: 'compatibility', request: { featureLevel: 'compatibility' } as GPURequestAdapterOptions });
  attempts.push({ mode: 'fallback', request: { forceFallbackAdapter: true } });

  // A browser may return a software adapter for the default request (Chromium returns
  // SwiftShader there and reaches lavapipe only in compatibility mode), so a fallback
  // adapter is kept only while no later request yields a better one.
  const tried: string[] = [];
  let best: { adapter: GPUAdapter; mode: AdapterMode; isFallback: boolean } | null = null;
  for (const attempt of attempts) {
    tried.push(attempt.mode);
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter(attempt.request);
    } catch {
      // Some implementations reject unknown options instead of returning null.
      adapter = null;
    }
    if (!adapter) continue;
    const isFallback = attempt.mode === 'fallback' || isSoftwareAdapter(adapter);
    if (!best || (best.isFallback && !isFallback)) best = { adapter, mode: attempt.mode, isFallback };
    if (!isFallback) break;
  }
  if (best) return openDevice(best.adapter, best.mode, best.isFallback, options);
  throw new NoAdapterError(tried);
}
