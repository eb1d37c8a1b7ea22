/**
 * Java's text formats, as ZooKeeper's four-letter words print them, so tools that parse the
 * output of a Java server read ours the same way.
 */

const LONG_MASK = (1n << 64n) - 1n;

/** Long.toHexString: two's complement for negative values ("ffffffffffffffff" for -1). */
export function javaHex(value: bigint | number): string {
  return (BigInt(value) & LONG_MASK).toString(16);
}

/**
 * Double.toString for finite values: "0.0", "1.5", "2.0"; scientific ("1.0E-4", "1.25E7") below
 * 10^-3 and from 10^7 on, as Java does.
 */
export function javaDouble(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes('.') ? text : `${text}.0`;
  }
  const [mantissa = '', exponent = '0'] = value.toExponential().split('e');
  const fraction = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
  return `${fraction}E${exponent.replace('+', '')}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** java.util.Date.toString() in UTC: "Tue Mar 05 10:00:00 UTC 2024". */
export function javaDate(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`
  );
}

/** InetSocketAddress.toString() of an accepted socket: "/127.0.0.1:54321" (no host name lookup). */
export function javaSocketAddress(address: string, port: number): string {
  // Node reports IPv4 clients of a dual-stack listener as IPv4-mapped IPv6; Java shows the IPv4 form.
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
  return `/${plain}:${port}`;
}

/** The address without its IPv4-mapped prefix (what ZooKeeper's ip scheme and per-host limits see). */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}
