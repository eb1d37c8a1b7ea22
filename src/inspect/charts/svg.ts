/**
 * SVG from DOT with Graphviz compiled to WebAssembly (`@viz-js/viz`): no system graphviz, no
 * browser, no network. Graphviz without system fonts sizes text from built-in metrics, so the
 * same DOT gives the same SVG bytes on every machine (the committed charts rely on that).
 */
import { instance } from '@viz-js/viz';
import type { Viz } from '@viz-js/viz';

let vizInstance: Promise<Viz> | undefined;

/** One Graphviz instance per process: compiling the WebAssembly module is the slow part. */
function viz(): Promise<Viz> {
  vizInstance ??= instance();
  return vizInstance;
}

/** Renders DOT text to an SVG document (`<?xml …><svg …>`); throws with Graphviz's message on bad input. */
export async function dotToSvg(dot: string): Promise<string> {
  return (await viz()).renderString(dot, { format: 'svg', engine: 'dot' });
}
