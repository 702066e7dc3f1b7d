// WebGPU adapter selection for the engine worker.
//
// Requests are tried in this order: default options, `featureLevel: 'compatibility'`,
// then `forceFallbackAdapter: true`. The first adapter that is not a fallback adapter
// wins; if every request gives a fallback adapter (or none), the first one found is used.
// Taking the first adapter outright would be wrong in Chromium 156 started with
// `--use-angle=vulkan --use-webgpu-adapter=opengles`: the default request returns
// SwiftShader there, and only the compatibility request reaches lavapipe through ANGLE.

import type { AdapterRequestMode, AdapterSummary } from './protocol';

const REQUESTS: ReadonlyArray<{ mode: AdapterRequestMode; options: GPURequestAdapterOptions | undefined }> = [
  { mode: 'default', options: undefined },
  // `featureLevel` is in the WebGPU spec but not yet in every @webgpu/types release.
  { mode: 'compatibility', options: { featureLevel: 'compatibility' } as GPURequestAdapterOptions },
  { mode: 'force-fallback', options: { forceFallbackAdapter: true } },
];

export interface SelectedAdapter {
  adapter: GPUAdapter;
  summary: AdapterSummary;
}

/** Returns the adapter to use, or null when every request came back empty. */
export async function selectAdapter(gpu: GPU): Promise<SelectedAdapter | null> {
  let firstFallback: SelectedAdapter | null = null;
  for (const request of REQUESTS) {
    let adapter: GPUAdapter | null;
    try {
      adapter = await gpu.requestAdapter(request.options);
    } catch {
      // Older implementations reject options they do not know instead of ignoring them.
      adapter = null;
    }
    if (!adapter) continue;

    const selected = { adapter, summary: summarizeAdapter(adapter, request.mode) };
    if (!selected.summary.isFallbackAdapter) return selected;
    firstFallback ??= selected;
  }
  return firstFallback;
}

/** GPUAdapterInfo plus `backend`, which Chromium adds when developer features are on. */
type ExtendedAdapterInfo = GPUAdapterInfo & { backend?: string };

export function summarizeAdapter(adapter: GPUAdapter, requestMode: AdapterRequestMode): AdapterSummary {
  const info = (adapter.info ?? {}) as Partial<ExtendedAdapterInfo>;
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const description = info.description ?? '';
  const legacyFlag = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const isFallbackAdapter =
    info.isFallbackAdapter === true || legacyFlag === true || requestMode === 'force-fallback' || /swiftshader/i.test(`${architecture} ${description}`);

  const limits = adapter.limits;
  return {
    name: adapterDisplayName(vendor, architecture, description),
    vendor,
    architecture,
    description,
    backend: typeof info.backend === 'string' ? info.backend : '',
    isFallbackAdapter,
    requestMode,
    features: [...adapter.features].map(String).sort(),
    limits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  };
}

/**
 * Builds the adapter name shown in the UI. The description is the most specific field
 * (`ANGLE (Mesa, Vulkan 1.4.305 (llvmpipe ...))`); without developer features Chromium
 * leaves it empty and only vendor and architecture remain (`google swiftshader`).
 */
export function adapterDisplayName(vendor: string, architecture: string, description: string): string {
  if (description.trim()) return description.trim();
  const parts = [vendor, architecture].map((part) => part.trim()).filter((part) => part.length > 0);
  return parts.length > 0 ? parts.join(' ') : 'unnamed adapter (the browser reports no vendor or description)';
}
