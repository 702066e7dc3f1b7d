// The embedded default model, assets/default-model.safetensors. When the file exists at
// build time, Vite emits it as an asset of the build. Otherwise the glob below is empty,
// so a build without it still works and the engine reports the missing model.

/** Location of the default model, relative to the repository root. */
export const DEFAULT_MODEL_LOCATION = 'assets/default-model.safetensors';

const found = import.meta.glob<string>('../../assets/default-model.safetensors', { query: '?url', import: 'default', eager: true });

/** URL of the default model in this build, or null when it was not built in. */
export function defaultModelUrl(): string | null {
  return Object.values(found)[0] ?? null;
}

/** Fetches the default model's bytes, or resolves null when this build has none. */
export async function fetchDefaultModel(): Promise<Uint8Array | null> {
  const url = defaultModelUrl();
  if (!url) return null;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Fetching the default model from ${url} failed: HTTP ${response.status} ${response.statusText}.`);
  return new Uint8Array(await response.arrayBuffer());
}
