// Types of Vite's import.meta extensions (import.meta.glob, ?url imports) for the renderer.
/// <reference types="vite/client" />
