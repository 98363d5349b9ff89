// The protocol's scalars (docs/protocol.md §1), in their canonical text: the same rules,
// and the same messages, as the server's validator, so a write the device accepts is one
// the server accepts.

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

// ---- Decimals ------------------------------------------------------------------------

/** An exact decimal: `units` / 10^`scale`. */
export interface Decimal {
  units: bigint;
  scale: number;
}

/**
 * Parses a JSON number's or a string's text as a decimal of at most `integerDigits`
 * digits before the point and `fractionDigits` after it. Trailing zeros are not
 * precision and exponents are accepted; a digit too many is an error, never rounded.
 */
export function parseDecimal(text: string, integerDigits: number, fractionDigits: number): Parsed<Decimal> {
  const bad = () => fail("must be a decimal number");
  if (text.length === 0 || text.length > 64) return bad();
  let negative = false;
  if (text[0] === "-" || text[0] === "+") {
    negative = text[0] === "-";
    text = text.slice(1);
  }
  let exponent = 0;
  const e = text.search(/[eE]/);
  if (e >= 0) {
    const m = /^([+-]?)(\d{1,4})$/.exec(text.slice(e + 1));
    if (!m) return bad();
    exponent = Number(m[2]) * (m[1] === "-" ? -1 : 1);
    text = text.slice(0, e);
  }
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m) return bad();
  const intPart = m[1] ?? "";
  const fracPart = m[2] ?? "";
  if (intPart === "" && fracPart === "") return bad();

  let digits = intPart + fracPart;
  let point = intPart.length + exponent; // digits before the point
  const lead = digits.length - digits.replace(/^0+/, "").length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, "");
  if (digits === "") return { ok: true, value: { units: 0n, scale: fractionDigits } };

  const intCount = point > 0 ? point : 0;
  const fracCount = digits.length - point;
  if (intCount > integerDigits) return fail(`has more than ${integerDigits} integer digits`);
  if (fracCount > fractionDigits) return fail(`has more than ${fractionDigits} decimal places`);
  let units = BigInt(digits) * 10n ** BigInt(fractionDigits - fracCount);
  if (negative) units = -units;
  return { ok: true, value: { units, scale: fractionDigits } };
}

export function formatDecimal(d: Decimal): string {
  const negative = d.units < 0n;
  let digits = (negative ? -d.units : d.units).toString();
  if (digits.length <= d.scale) digits = "0".repeat(d.scale + 1 - digits.length) + digits;
  if (d.scale > 0) digits = digits.slice(0, digits.length - d.scale) + "." + digits.slice(digits.length - d.scale);
  return negative ? "-" + digits : digits;
}

/** a × b at `scale`, rounded half away from zero; null beyond `integerDigits`. */
export function multiplyDecimals(a: Decimal, b: Decimal, integerDigits: number, scale: number): Decimal | null {
  let product = a.units * b.units;
  const drop = a.scale + b.scale - scale;
  if (drop > 0) {
    const divisor = 10n ** BigInt(drop);
    let quotient = product / divisor; // truncates toward zero
    let remainder = product % divisor;
    if (remainder < 0n) remainder = -remainder;
    if (remainder * 2n >= divisor) quotient += product < 0n ? -1n : 1n;
    product = quotient;
  } else if (drop < 0) {
    product *= 10n ** BigInt(-drop);
  }
  const limit = 10n ** BigInt(integerDigits + scale);
  if (product >= limit || product <= -limit) return null;
  return { units: product, scale };
}

// ---- Timestamps ----------------------------------------------------------------------

// Howard Hinnant's days_from_civil and civil_from_days (public domain algorithms).
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor((y >= 0 ? y : y - 399) / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor((z >= 0 ? z : z - 146096) / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  let y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y += 1;
  return [y, m, d];
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const timestampPattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2})|:)?)$/;

/** Milliseconds since the epoch of an ISO-8601 timestamp; the offset is required. */
export function parseTimestamp(text: string): Parsed<number> {
  const bad = () => fail("must be an ISO-8601 timestamp with a UTC offset, e.g. 2026-11-25T08:00:00.000Z");
  const m = timestampPattern.exec(text);
  if (!m) return bad();
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] ? Number(m[6]) : 0;
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  let offset = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = m[11] ? Number(m[11]) : 0;
    if (oh > 23 || om > 59) return bad();
    offset = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const dim = month === 2 && isLeap(year) ? 29 : monthDays[month - 1];
  if (year < 1 || month < 1 || month > 12 || day < 1 || dim === undefined || day > dim || hour > 23 || minute > 59 || second > 59)
    return bad();
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset * 60;
  const ms = seconds * 1000 + millis;
  if (ms < -62135596800000 || ms > 253402300799999) return bad();
  return { ok: true, value: ms };
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`, the protocol's form of every timestamp. */
export function formatTimestamp(ms: number): string {
  const days = Math.floor(ms / 86400000);
  const rest = ms - days * 86400000;
  const [y, m, d] = civilFromDays(days);
  return (
    `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(Math.floor(rest / 3600000), 2)}:` +
    `${pad(Math.floor(rest / 60000) % 60, 2)}:${pad(Math.floor(rest / 1000) % 60, 2)}.${pad(rest % 1000, 3)}Z`
  );
}

// ---- Ids and text --------------------------------------------------------------------

const uuidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A UUID of any version in lower case, or null when `text` is not one. */
export function normalizeUuid(text: string): string | null {
  return uuidPattern.test(text) ? text.toLowerCase() : null;
}

/** A fresh UUID v4 from the platform's cryptographic generator. */
export function newUuid(): string {
  return crypto.randomUUID();
}

/** The length the protocol counts: Unicode code points. */
export function countCodePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; ++i) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) ++i;
    }
    ++n;
  }
  return n;
}

/** False for a string holding a lone surrogate, which no UTF-8 text can carry. */
export function isWellFormed(text: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}
