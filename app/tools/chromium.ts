// Command-line flags for Debian's Chromium in web mode and in the end-to-end tests.

/** Debian's chromium package; override with MAMBA_CHROMIUM. */
export const CHROMIUM_PATH = process.env.MAMBA_CHROMIUM ?? '/usr/bin/chromium';

/**
 * WebGPU on Linux machines without a GPU. `--enable-unsafe-webgpu` alone gives the
 * SwiftShader fallback adapter. With ANGLE on Vulkan as WebGPU's OpenGL ES backend, a
 * `featureLevel: 'compatibility'` request reaches Mesa's lavapipe instead, which runs
 * compute faster. The engine worker requests that adapter when the default one is a
 * fallback. Developer features make the adapter report its description, so the UI can
 * name it. MAMBA_WEBGPU=swiftshader drops the ANGLE flags.
 */
export function webGpuArgs(env: Record<string, string | undefined> = process.env): string[] {
  const args = ['--enable-unsafe-webgpu', '--enable-webgpu-developer-features'];
  if (env.MAMBA_WEBGPU !== 'swiftshader') args.push('--use-angle=vulkan', '--use-webgpu-adapter=opengles');
  return args;
}

/** The machines have no network: no background requests, updates, sync or QUIC probing. */
export const OFFLINE_ARGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Chromium refuses to run as root with its sandbox on. */
export function sandboxArgs(): string[] {
  return process.getuid?.() === 0 ? ['--no-sandbox'] : [];
}

export function chromiumArgs(env: Record<string, string | undefined> = process.env): string[] {
  return [...webGpuArgs(env), ...OFFLINE_ARGS, ...sandboxArgs()];
}
