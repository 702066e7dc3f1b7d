// Fake WebGPU objects for testing adapter selection and the engine host without a GPU.

export interface FakeAdapterSpec {
  description?: string;
  vendor?: string;
  architecture?: string;
  isFallbackAdapter?: boolean;
  backend?: string;
  /** Makes requestDevice reject with this message. */
  deviceError?: string;
}

export interface FakeDevice {
  label: string;
  requiredLimits: Record<string, number>;
  requiredFeatures: string[];
  listeners: Map<string, Array<(event: unknown) => void>>;
  lose(reason: 'destroyed' | 'unknown', message: string): void;
}

const LIMITS = {
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxStorageBuffersPerShaderStage: 8,
};

export function fakeAdapter(spec: FakeAdapterSpec, devices: FakeDevice[] = []): GPUAdapter {
  return {
    info: {
      vendor: spec.vendor ?? '',
      architecture: spec.architecture ?? '',
      description: spec.description ?? '',
      device: '',
      isFallbackAdapter: spec.isFallbackAdapter ?? false,
      backend: spec.backend,
    },
    features: new Set(['timestamp-query']),
    limits: LIMITS,
    async requestDevice(descriptor: GPUDeviceDescriptor) {
      if (spec.deviceError) throw new Error(spec.deviceError);
      let resolveLost: (info: { reason: string; message: string }) => void = () => {};
      const listeners = new Map<string, Array<(event: unknown) => void>>();
      const device = {
        label: descriptor.label ?? '',
        requiredLimits: descriptor.requiredLimits as Record<string, number>,
        requiredFeatures: [...(descriptor.requiredFeatures ?? [])] as string[],
        listeners,
        lost: new Promise((resolve) => (resolveLost = resolve)),
        addEventListener(type: string, listener: (event: unknown) => void) {
          listeners.set(type, [...(listeners.get(type) ?? []), listener]);
        },
        lose(reason: 'destroyed' | 'unknown', message: string) {
          resolveLost({ reason, message });
        },
      };
      devices.push(device);
      return device as unknown as GPUDevice;
    },
  } as unknown as GPUAdapter;
}

/** Creates a GPU whose requestAdapter returns the adapter given for each request mode. */
export function fakeGpu(answers: { default?: GPUAdapter | null; compatibility?: GPUAdapter | null; fallback?: GPUAdapter | null; throwOnCompatibility?: boolean }): GPU & { requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    async requestAdapter(options?: GPURequestAdapterOptions & { featureLevel?: string }) {
      if (options?.forceFallbackAdapter) {
        requests.push('fallback');
        return answers.fallback ?? null;
      }
      if (options?.featureLevel === 'compatibility') {
        requests.push('compatibility');
        if (answers.throwOnCompatibility) throw new TypeError('unknown option featureLevel');
        return answers.compatibility ?? null;
      }
      requests.push('default');
      return answers.default ?? null;
    },
  } as unknown as GPU & { requests: string[] };
}
