/**
 * Normalizing zkCli output so that a run against ZooKeeper and a run against statekeeper can be
 * compared line by line. What differs between two correct servers and is removed here:
 * - zxids: replaced by their rank among the zxids the run printed (so `cZxid == mZxid` and the
 *   order of changes survive, while the absolute numbers, which count different internal
 *   transactions on each server, do not);
 * - times (ctime, mtime) and session ids (ephemeralOwner, when not 0);
 * - the server address in "Connecting to";
 * - the order of names in a child list and of the paths `ls -R` prints (ZooKeeper returns hash-set
 *   order, statekeeper sorts);
 * - where watch notifications fall: the shell prints them from its event thread, so they
 *   interleave with the main thread's output by timing. They are taken out and kept as their own
 *   ordered list (one thread prints them all, so their order is meaningful).
 */

/** zkCli output split into command output and watch notifications. */
export interface NormalizedZkCliOutput {
  /** Command output lines, normalized, without the connection banner and notifications. */
  readonly lines: readonly string[];
  /** "WatchedEvent state:… type:… path:…" lines in the order the shell printed them. */
  readonly events: readonly string[];
}

const ZXID_LINE = /^(cZxid|mZxid|pZxid) = (0x[0-9a-f]+)$/;
const TIME_LINE = /^(ctime|mtime) = .+$/;
const OWNER_LINE = /^ephemeralOwner = (0x[0-9a-f]+)$/;
const CHILD_LIST = /^\[(.*)\]$/;
/** Lines of the shell's own banner, printed before the first command. */
const BANNER = [/^Connecting to /, /^Welcome to ZooKeeper!$/, /^JLine support is (disabled|enabled)$/];

/** Normalizes one zkCli run's output (see the module comment for what is normalized and why). */
export function normalizeZkCliOutput(output: string): NormalizedZkCliOutput {
  const raw = output.replace(/\r\n/g, '\n').split('\n');
  if (raw.at(-1) === '') raw.pop();
  const events: string[] = [];
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const line = raw[i]!;
    if (BANNER.some((re) => re.test(line))) continue;
    // The shell prints each of "WATCHER::" and the event as println("\n" + message): one write
    // each, a blank line then the text; the blank line goes with it.
    const next = raw[i + 1];
    if (line === '' && next !== undefined && (next === 'WATCHER::' || next.startsWith('WatchedEvent '))) continue;
    if (line === 'WATCHER::') continue;
    if (line.startsWith('WatchedEvent ')) {
      events.push(line);
      continue;
    }
    kept.push(line);
  }
  const zxids = new Set<bigint>();
  for (const line of kept) {
    const m = ZXID_LINE.exec(line);
    if (m !== null) zxids.add(BigInt(m[2]!));
  }
  const rank = new Map([...zxids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((z, i) => [z, i + 1]));
  const lines = kept.map((line) => {
    const zxid = ZXID_LINE.exec(line);
    if (zxid !== null) return `${zxid[1]} = z${rank.get(BigInt(zxid[2]!))}`;
    const time = TIME_LINE.exec(line);
    if (time !== null) return `${time[1]} = <time>`;
    const owner = OWNER_LINE.exec(line);
    if (owner !== null) return owner[1] === '0x0' ? line : 'ephemeralOwner = <session>';
    const children = CHILD_LIST.exec(line);
    if (children !== null && children[1] !== undefined) {
      const names = children[1] === '' ? [] : children[1].split(', ');
      return `[${names.sort().join(', ')}]`;
    }
    return line;
  });
  return { lines: sortPathRuns(lines), events };
}

/** Sorts each run of consecutive lines that are absolute paths (the output of `ls -R`). */
function sortPathRuns(lines: readonly string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = (): void => {
    out.push(...run.sort());
    run = [];
  };
  for (const line of lines) {
    if (line.startsWith('/')) run.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}
