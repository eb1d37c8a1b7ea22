import { describe, expect, it } from 'vitest';
import { ROLE_CHARTS, chartDot, chartSvg, dotToSvg, escapeDotHtml, machineToDot } from '../../../src/inspect/charts/index.js';
import { expectedChart } from './expect.js';
import { awkwardMachine, tinyMachine } from './fixtures.js';

/**
 * A small XML well-formedness check (no XML parser ships with Node): one root element, tags
 * balanced and properly nested, attributes quoted, no stray `<` or `&` in text.
 */
function assertWellFormedXml(xml: string): void {
  const token = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/?([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  const stack: string[] = [];
  let roots = 0;
  let last = 0;
  for (let m = token.exec(xml); m !== null; m = token.exec(xml)) {
    const text = xml.slice(last, m.index);
    if (/[<]|&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)/.test(text)) throw new Error(`bad text before offset ${m.index}: ${text.slice(0, 80)}`);
    last = token.lastIndex;
    const name = m[1];
    if (name === undefined) continue;
    if (m[0].startsWith('</')) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}> at offset ${m.index}`);
    } else if (m[3] !== '/') {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) {
      roots++;
    }
  }
  if (/[<>]/.test(xml.slice(last).trim())) throw new Error(`unparsed markup: ${xml.slice(last, last + 80)}`);
  if (stack.length !== 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

/** The contents of every `<text>` element, entities decoded. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCodePoint(Number(c)))
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&'),
  );
}

describe('SVG charts', () => {
  for (const r of ROLE_CHARTS) {
    it(`${r.role}: valid XML SVG naming every state and showing every transition`, async () => {
      const svg = await chartSvg(r.role);
      expect(svg.startsWith('<?xml') || svg.startsWith('<svg')).toBe(true);
      expect(svg).toMatch(/<svg[\s>]/);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      assertWellFormedXml(svg);
      const texts = svgTexts(svg);
      const { states, transitions } = expectedChart(r.machine, r.statePath);
      for (const path of states.filter((p) => p !== '')) expect(texts, `state ${path}`).toContain(path.split('.').at(-1));
      // Each transition is one text line: on an arrow, or inside its state (maybe with `→ target`).
      for (const t of transitions) expect(texts.some((x) => x === t.label || x.startsWith(`${t.label} → `)), t.label).toBe(true);
    });
  }

  it('are deterministic', async () => {
    for (const r of ROLE_CHARTS) {
      expect(chartDot(r.role)).toBe(chartDot(r.role));
      expect(await chartSvg(r.role)).toBe(await chartSvg(r.role));
    }
  });

  it('draws composites as clusters, parallel regions dashed, finals to a ringed dot, stubs dashed', () => {
    const dot = machineToDot(tinyMachine);
    expect(dot).toContain('subgraph "cluster:running" {');
    expect(dot).toMatch(/subgraph "cluster:poller" \{\n\s+graph \[[^\n]*style="rounded,dashed"/);
    expect(dot).toContain('"stopped" -> "final:stopped";');
    expect(dot).toContain('"final:gaveUp" [shape=point, width=0.13, peripheries=2');
    // An arrow from a composite leaves its frame.
    expect(dot).toContain('"anchor:running" -> "stopped" [label="STOP\\l", ltail="cluster:running"];');
    const leader = chartDot('leader');
    expect(leader).toContain('"follower" [shape=box, style="rounded,dashed"');
    expect(leader).toContain('"watching" -> "follower" [label="after checkQuorumInterval / forgetLeaderContact\\l"];');
  });

  it('escapes names and labels for DOT and renders them back verbatim', async () => {
    const svg = await dotToSvg(machineToDot(awkwardMachine));
    assertWellFormedXml(svg);
    const texts = svgTexts(svg);
    expect(texts).toContain('go:now [ready: yes; really #1 %% "quoted"]');
    expect(texts).toContain('end note');
    expect(escapeDotHtml('<a & "b">')).toBe('&lt;a &amp; &quot;b&quot;&gt;');
  });

  it('reports bad DOT as an error', async () => {
    await expect(dotToSvg('digraph { a -> }')).rejects.toThrow();
  });
});
