// The Content-Security-Policy of the renderer, shared by the Electron protocol handler,
// the web build's <meta> tag and the local static server, so all three enforce one policy.
//
// Why each source is allowed:
// - script-src 'wasm-unsafe-eval': the audio decoders compile WebAssembly; plain eval stays off.
// - style-src 'unsafe-inline': wavesurfer.js puts a <style> element in its shadow root and
//   sets inline styles; no script can be injected through styles.
// - media-src blob: and img-src blob: data: : clips play from object URLs of their bytes,
//   and canvases may be exported as images.
// - worker-src 'self': the engine worker is a module served from our own origin.

const DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'none'"],
  ['script-src', "'self' 'wasm-unsafe-eval'"],
  ['worker-src', "'self'"],
  ['style-src', "'self' 'unsafe-inline'"],
  ['img-src', "'self' data: blob:"],
  ['media-src', "'self' blob:"],
  ['font-src', "'self'"],
  ['connect-src', "'self' blob:"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-src', "'none'"],
];

/** The policy for a <meta http-equiv> tag, which cannot carry frame-ancestors. */
export const CONTENT_SECURITY_POLICY_META = DIRECTIVES.map(([name, value]) => `${name} ${value}`).join('; ');

/** The policy for an HTTP response header. */
export const CONTENT_SECURITY_POLICY = `${CONTENT_SECURITY_POLICY_META}; frame-ancestors 'none'`;
