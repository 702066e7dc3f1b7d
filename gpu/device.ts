// Adapter and device acquisition that works in a browser page, a Web Worker and Node.
//
// The engine is designed for the WebGPU default limits (128 MiB per storage binding, 256
// invocations per workgroup, 16 KiB of workgroup memory, 65,535 workgroups per dimension,
// no f16) and asks for larger limits only where the adapter offers them.

/** How the adapter was obtained, from most to least capable. */
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

/** Optional features used when present: timestamps for benchmarks. */
const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query'];

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

  const tried: string[] = [];
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

    const info = adapter.info;
    const adapterName =
      [info?.vendor, info?.architecture, info?.device, info?.description].filter((part) => part).join(' ') ||
      'unknown adapter';
    const isFallbackAdapter =
      attempt.mode === 'fallback' ||
      (info as GPUAdapterInfo & { isFallbackAdapter?: boolean })?.isFallbackAdapter === true ||
      /swiftshader|llvmpipe|lavapipe|software/i.test(adapterName);
    return { device, adapter, mode: attempt.mode, adapterName, isFallbackAdapter };
  }
  throw new NoAdapterError(tried);
}
