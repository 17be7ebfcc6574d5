/**
 * Secrets out of what spark_environment (and spark_compare, spark_diagnose) show: the History
 * Server redacts with the application's own `spark.redaction.regex`, which an application may
 * narrow or that may miss a key (a Hadoop credential, a JVM system property); so every property
 * read here is redacted again, fail closed, before anything filters, compares or prints it.
 *
 * - A property whose key looks secret (isSecretKey) shows REDACTED instead of its value.
 * - In any other value: `key=value` / `key: value` / `"key":"value"` pairs whose key looks secret
 *   (spaces around `=`/`:` allowed; a quoted value, single, double or JSON-escaped, is redacted
 *   whole, an unterminated one to the end of the value; an unquoted one up to a space, `&`, `;` or
 *   `,`, a quote closing around it included); `--secret-flag value` arguments, at the
 *   start of the value or after a space or quote; `Authorization:`/`Cookie:` headers (to the end
 *   of the line, their scheme kept); `Bearer <token>` anywhere; and the password of URL user info
 *   (`scheme://user:pass@host`).
 *
 * Which keys look secret (one rule for property keys and the keys inside values), fail closed:
 * a key containing password, passwd, passphrase, pwd, secret, token, credential, signature, cookie
 * or authorization is secret. So is one containing `pass`, `key` or `auth`, unless that word is
 * only part of a harmless one listed in HARMLESS (bypass, passthrough, monkey, map/partition/…
 * keys, authenticate/authentication): `spark.shuffle.sort.bypassMergeThreshold`,
 * `spark.sql.mapKeyDedupPolicy` and `spark.authenticate` show their values, while
 * `fs.s3a.access.key`, `spark.ssl.keyStore`, `spark.kerberos.keytab` (a path to a secret: hidden
 * too) and `spark.authenticate.secret` do not. An unknown key with `key` in it stays redacted.
 */
import type { EnvironmentInfo } from "./spark.history.types";

/** As Spark's own redaction shows it. */
export const REDACTED = "*********(redacted)";

const STRONG = /pass(?:word|wd|phrase)|pwd|secret|token|credential|signature|cookie|authoriz/i;
const WEAK = /pass|key|auth/i;
/** Ordinary words that contain a weak one; removed from a key before WEAK is tried. */
const HARMLESS =
  /bypass|passthrough|compass|monkey|turnkey|(?:map|cluster|partition|join|sort|bucket|group(?:ing)?|primary|foreign|dedup)[._-]?keys?|authenticat(?:e|ion)/gi;

export function isSecretKey(key: string): boolean {
  return STRONG.test(key) || WEAK.test(key.replace(HARMLESS, "."));
}

/** `password=`, `"password": `, `db.password = ` (a key, maybe its closing quote, the separator). */
// The key starts where no key character precedes it: without that, a long run of key characters
// with no separator is tried from every one of its positions (quadratic).
const PAIR_KEY = /(?<![\w.-])([\w.-]+)(\\?["']?\s*[=:]\s*)/g;
/** `--db-password `: a flag at the start, or after a space, quote, bracket or comma; `"--pw", "x"` too. */
const FLAG_KEY = /(^|[\s"'[(,])(-{1,2}[\w.-]+)(\s+|["']?\s*,\s*)(?!-)/g;
/** Headers whose whole value is a credential, even one with spaces or commas (Digest, cookies). */
const WHOLE_LINE = /^(?:proxy-)?authorization$|^(?:set-)?cookie$/i;
const SCHEME = /(?:bearer|basic|digest|negotiate|token|aws4-hmac-sha256)\s+/iy;
const BEARER = /\b(bearer\s+)([\w.~+/-]+=*)/gi;
/** `scheme://user:password@host`. */
const USER_INFO = /(\/\/[^/\s:@]+):([^@\s/]+)@/g;

/** The value starting at `start`: [its redacted form, where it ends], or undefined if there is none. */
function redactAt(text: string, start: number, unquoted: RegExp, wholeLine: boolean): [string, number] | undefined {
  let at = start;
  let scheme = "";
  SCHEME.lastIndex = at;
  const schemeMatch = SCHEME.exec(text);
  if (schemeMatch) {
    scheme = schemeMatch[0];
    at += scheme.length;
  }
  const open = text.startsWith('\\"', at) ? '\\"' : text[at] === '"' || text[at] === "'" ? (text[at] as string) : "";
  if (open) {
    // Quoted: up to the matching unescaped quote, or (unterminated) to the end of the value.
    let end = at + open.length;
    while (end < text.length && !text.startsWith(open, end)) end += text[end] === "\\" && open !== '\\"' ? 2 : 1;
    const closed = end < text.length;
    return [
      `${scheme}${open}${REDACTED}${closed ? open : ""}`,
      Math.min(text.length, closed ? end + open.length : end),
    ];
  }
  const run = wholeLine ? /[^\r\n]+/y : unquoted;
  run.lastIndex = at;
  const match = run.exec(text);
  if (!match) return scheme ? [`${scheme}${REDACTED}`, at] : undefined;
  return [`${scheme}${REDACTED}`, at + match[0].length];
}

/** Every match of `keys` whose key (group 2 if `flag`, else 1) looks secret has the value after it redacted. */
function redactAfterKeys(text: string, keys: RegExp, flag: boolean): string {
  let out = "";
  let copied = 0;
  keys.lastIndex = 0;
  for (let match = keys.exec(text); match; match = keys.exec(text)) {
    const key = (flag ? match[2] : match[1]) as string;
    const valueStart = match.index + match[0].length;
    if (!isSecretKey(key)) {
      // Go on right after the key, so that a pair inside this one's value is still seen.
      keys.lastIndex = match.index + Math.max(1, (flag ? (match[1] as string).length : 0) + key.length);
      continue;
    }
    const value = redactAt(text, valueStart, flag ? /\S+/y : /[^\s&;,]+/y, !flag && WHOLE_LINE.test(key));
    if (!value) continue;
    out += text.slice(copied, valueStart) + value[0];
    copied = value[1];
    keys.lastIndex = Math.max(value[1], valueStart + 1);
  }
  return out + text.slice(copied);
}

/** A value longer than this is redacted whole: no property worth reading is that long, and scanning it costs CPU. */
export const MAX_SCANNED_VALUE = 64 * 1024;

export function redactValue(value: string): string {
  if (value.length > MAX_SCANNED_VALUE) return `${REDACTED} (a value of ${value.length} characters)`;
  const withoutUrlPasswords = value.replace(USER_INFO, `$1:${REDACTED}@`);
  const withoutBearers = withoutUrlPasswords.replace(BEARER, (_all, scheme: string) => `${scheme}${REDACTED}`);
  return redactAfterKeys(redactAfterKeys(withoutBearers, PAIR_KEY, false), FLAG_KEY, true);
}

export function redactProperty([key, value]: [string, string]): [string, string] {
  if (value === REDACTED) return [key, value];
  return [key, isSecretKey(key) ? REDACTED : redactValue(value)];
}

/** The environment with every property section redacted (the classpath and runtime are paths and versions). */
export function redactEnvironment(env: EnvironmentInfo): EnvironmentInfo {
  return {
    ...env,
    sparkProperties: env.sparkProperties.map(redactProperty),
    hadoopProperties: env.hadoopProperties.map(redactProperty),
    systemProperties: env.systemProperties.map(redactProperty),
    metricsProperties: env.metricsProperties.map(redactProperty),
  };
}
