// Chromium command-line switches for WebGPU, applied by the main process before `ready`.
//
// Chromium (and so Electron 45) keeps WebGPU behind `enable-unsafe-webgpu` on Linux, and
// its Vulkan backend behind the `Vulkan` feature. `enable-webgpu-developer-features`
// makes GPUAdapterInfo report the adapter's description and backend. Without it an
// adapter reached through ANGLE reports empty strings, so the UI could not name the
// device that runs the model. Windows and macOS enable WebGPU by default.
//
// MAMBA_AUDIO_WEBGPU_ANGLE=vulkan routes WebGPU through ANGLE's OpenGL ES on Vulkan, which
// reaches Mesa's lavapipe on machines without a GPU; the page then needs a
// `featureLevel: 'compatibility'` adapter, which the engine worker requests second.

export interface SwitchSpec {
  name: string;
  value?: string;
}

export function webGpuSwitches(platform: string, env: Record<string, string | undefined>): SwitchSpec[] {
  if (env.MAMBA_AUDIO_WEBGPU_SWITCHES === 'off') return [];
  const switches: SwitchSpec[] = [{ name: 'enable-webgpu-developer-features' }];
  if (platform === 'linux') {
    switches.push({ name: 'enable-unsafe-webgpu' }, { name: 'enable-features', value: 'Vulkan' });
  }
  if (env.MAMBA_AUDIO_WEBGPU_ANGLE === 'vulkan') {
    switches.push({ name: 'use-angle', value: 'vulkan' }, { name: 'use-webgpu-adapter', value: 'opengles' });
  }
  return switches;
}

/**
 * Merges a comma-separated feature list into an existing `enable-features` value, so that
 * features passed on the command line are kept.
 */
export function mergeFeatureList(existing: string, added: string): string {
  const features = existing.split(',').filter((feature) => feature.length > 0);
  for (const feature of added.split(',')) {
    if (feature && !features.includes(feature)) features.push(feature);
  }
  return features.join(',');
}

/** Renders switches as `--name` or `--name=value`, for logs and the diagnostics panel. */
export function formatSwitches(switches: readonly SwitchSpec[]): string[] {
  return switches.map((entry) => (entry.value === undefined ? `--${entry.name}` : `--${entry.name}=${entry.value}`));
}
