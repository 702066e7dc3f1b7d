// Node entry point to WebGPU: Dawn's bindings from the `webgpu` npm package.
//
// Two facts about dawn.node (0.6.x) shape this file:
// - The object returned by create() must stay reachable while any device made from it is
//   in use; when it is garbage-collected the process crashes. `instances` keeps every one.
// - Debian 12's stock Mesa lavapipe is rejected by Dawn's Vulkan backend, while its
//   llvmpipe works through Dawn's OpenGL ES backend. So when Vulkan yields no adapter,
//   this falls back to OpenGL ES with a surfaceless EGL platform.
import { create, globals } from 'webgpu';

import { acquireDevice, NoAdapterError, type AcquiredDevice } from './device';
import { GpuContext } from './context';

Object.assign(globalThis, globals);

/** Dawn backend: 'default' lets Dawn choose (Vulkan on Linux). */
export type DawnBackend = 'default' | 'vulkan' | 'opengles';

const instances: GPU[] = [];

function createDawn(backend: DawnBackend): GPU {
  const flags: string[] = [];
  if (backend === 'vulkan') flags.push('backend=vulkan');
  if (backend === 'opengles') {
    // Dawn's GLES backend reads this when it first opens EGL; without a display it needs
    // the surfaceless platform.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    flags.push('backend=opengles');
  }
  const gpu = create(flags);
  instances.push(gpu);
  return gpu;
}

export interface NodeDeviceOptions {
  /** Force a backend; otherwise MAMBA_AUDIO_BACKEND, else Vulkan then OpenGL ES. */
  backend?: DawnBackend;
  label?: string;
}

/** Opens a WebGPU device in Node with the backend fallback described above. */
export async function acquireNodeDevice(options: NodeDeviceOptions = {}): Promise<AcquiredDevice & { backend: DawnBackend }> {
  const forced = options.backend ?? (process.env.MAMBA_AUDIO_BACKEND as DawnBackend | undefined);
  if (forced && !['default', 'vulkan', 'opengles'].includes(forced)) {
    throw new Error(`MAMBA_AUDIO_BACKEND=${forced} is not a Dawn backend; use vulkan, opengles or default.`);
  }
  const order: DawnBackend[] = forced ? [forced] : ['default', 'opengles'];

  const failures: string[] = [];
  for (const backend of order) {
    try {
      const acquired = await acquireDevice(createDawn(backend), {
        compatibilityOnly: backend === 'opengles',
        label: options.label,
      });
      return { ...acquired, backend };
    } catch (error) {
      if (!(error instanceof NoAdapterError)) throw error;
      failures.push(`${backend}: ${error.message}`);
    }
  }
  throw new Error(`No WebGPU adapter in Node. ${failures.join(' | ')}`);
}

/** Opens a device and wraps it in a GpuContext, the object the engine works with. */
export async function createNodeContext(options: NodeDeviceOptions = {}): Promise<GpuContext> {
  const acquired = await acquireNodeDevice(options);
  return new GpuContext(acquired);
}
