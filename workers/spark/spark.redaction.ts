/**
 * Secrets out of what spark_environment (and spark_compare, spark_diagnose) show: the History
 * Server redacts with the application's own `spark.redaction.regex`, which an application may
 * narrow or that may miss a key (a Hadoop credential, a JVM system property); so every property
 * read here is redacted again, fail closed, before anything filters, compares or prints it.
 *
 * - A property whose key looks secret (password, passwd, secret, token, credential, key — which
 *   also covers keystore paths and access/secret keys —, signature, cookie, auth) shows
 *   REDACTED instead of its value.
 * - In any other value, `password=…` style pairs, `--secret-flag value` arguments and the
 *   password of URL user info (`scheme://user:pass@host`) are redacted.
 */
import type { EnvironmentInfo } from "./spark.history.types";

/** As Spark's own redaction shows it. */
export const REDACTED = "*********(redacted)";

const SECRET_KEY = /pass(word|wd)?|secret|token|credential|key|signature|cookie|auth/i;
const WORD = "[\\w.-]*(?:pass(?:word|wd)?|secret|token|credential|key|signature)[\\w.-]*";
/** `password=x`, `fs.s3a.secret.key: x` inside a value (up to a separator). */
const PAIR = new RegExp(`(${WORD})(\\s*[=:]\\s*)([^\\s&;,'"]+)`, "gi");
/** `--db-password x` / `-Dsecret=x` on a command line. */
const FLAG = new RegExp(`(\\s-{1,2}${WORD})(\\s+)(?!-)(\\S+)`, "gi");
/** `scheme://user:password@host`. */
const USER_INFO = /(\/\/[^/\s:@]+):([^@\s/]+)@/g;

export function redactValue(value: string): string {
  return value
    .replace(USER_INFO, `$1:${REDACTED}@`)
    .replace(PAIR, (_all, key: string, sep: string) => `${key}${sep}${REDACTED}`)
    .replace(FLAG, (_all, flag: string, space: string) => `${flag}${space}${REDACTED}`);
}

export function redactProperty([key, value]: [string, string]): [string, string] {
  if (value === REDACTED) return [key, value];
  return [key, SECRET_KEY.test(key) ? REDACTED : redactValue(value)];
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
