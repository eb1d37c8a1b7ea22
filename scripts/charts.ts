/**
 * Regenerates the role statecharts (Mermaid, SVG and an index page) from the machine definitions.
 * Usage: npx tsx scripts/charts.ts docs/charts
 */
import { writeCharts } from '../src/inspect/charts/index.js';

const outDir = process.argv[2] ?? 'docs/charts';
for (const path of await writeCharts(outDir)) console.log(path);
