/**
 * Summarize V8 CPU profiles (.cpuprofile, as `bench/zk.ts --profile DIR` writes them): top functions
 * by self time, and self time per source file / package.
 *
 *   npx tsx bench/profile-summary.ts DIR-or-FILES... [--top 40]
 *
 * Self time is attributed from the sample stream (timeDeltas), so it is exact for the samples taken;
 * "(idle)" is time the event loop waited, "(program)" native work outside JS (syscalls, GC helpers).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const { values: args, positionals } = parseArgs({ options: { top: { type: 'string', default: '40' } }, allowPositionals: true });
const ROOT = resolve(import.meta.dirname ?? '.', '..');

function profileFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!statSync(p).isDirectory()) {
      out.push(p);
      continue;
    }
    for (const f of readdirSync(p)) if (f.endsWith('.cpuprofile')) out.push(join(p, f));
  }
  return out.sort();
}

/** Where a function lives: a package name, a project-relative path, or a V8 pseudo-frame. */
function placeOf(url: string): string {
  if (url === '') return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (path.startsWith('node:')) return path;
  return path.startsWith('/') ? relative(ROOT, path) : path;
}

function summarize(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; charge it to the sample that follows it.
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const totalUs = profile.endTime - profile.startTime;
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    if (f.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const place = placeOf(f.url);
    const key = `${f.functionName || '(anonymous)'}  ${place}${f.url === '' ? '' : `:${f.lineNumber + 1}`}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number): string => `${((100 * us) / busyUs).toFixed(1).padStart(5)} %`;
  console.log(`\n== ${file}\n   ${(totalUs / 1e6).toFixed(1)} s profiled, busy ${(busyUs / 1e6).toFixed(1)} s (${((100 * busyUs) / totalUs).toFixed(0)} %); shares below are of busy time`);
  const top = Number(args.top);
  console.log('-- by package / file');
  for (const [place, us] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(us)}  ${place}`);
  console.log('-- by function (self)');
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${key}`);
}

for (const f of profileFiles(positionals.length > 0 ? positionals : ['.'])) summarize(f);
