import { describe, expect, it } from "vitest";
import { isSecretKey, MAX_SCANNED_VALUE, REDACTED, redactProperty, redactValue } from "./spark.redaction";

const R = REDACTED;

describe("spark redaction", () => {
  it.each([
    ['-Dx=1 -Ddb.password="hunter2"', `-Dx=1 -Ddb.password="${R}"`],
    ["-Ddb.password='hunter2' -Dy=2", `-Ddb.password='${R}' -Dy=2`],
    ['{"user":"etl","password":"hunter2"}', `{"user":"etl","password":"${R}"}`],
    ['{"password": "hunter 2 \\" still"}', `{"password": "${R}"}`],
    ['{\\"password\\":\\"hunter 2\\"}', `{\\"password\\":\\"${R}\\"}`],
    ['password = "hunter2"', `password = "${R}"`],
    ["password : hunter2", `password : ${R}`],
    ['password="hunter 2', `password="${R}`],
    ["--password hunter2 --user etl", `--password ${R} --user etl`],
    ['--db-password "hunter 2" x', `--db-password "${R}" x`],
    ['["--api-token", "hunter2", "--verbose"]', `["--api-token", "${R}", "--verbose"]`],
    ["app.jar --api-token hunter2", `app.jar --api-token ${R}`],
    ["Authorization: Bearer abc.def", `Authorization: Bearer ${R}`],
    ['Authorization: Digest username="etl", response="hunter2"', `Authorization: Digest ${R}`],
    ['{"Authorization":"Basic aHVudGVyMg=="}', `{"Authorization":"${R}"}`],
    // An unquoted value runs to a space, `&`, `;` or `,`: a quote closing around it goes with it.
    ["curl -H 'X-Api-Key: hunter2' https://x", `curl -H 'X-Api-Key: ${R} https://x`],
    ["Cookie: session=hunter2; theme=dark", `Cookie: ${R}`],
    ["send bearer abc-def_1~2/3+4== upstream", `send bearer ${R} upstream`],
    ["a=password=hunter2", `a=password=${R}`],
    ["secret=aGk==&x=1", `secret=${R}&x=1`],
    ["https://etl:hunter2@host/x", `https://etl:${R}@host/x`],
  ])("%s", (value, redacted) => {
    expect(redactValue(value)).toBe(redacted);
    expect(redactValue(value)).not.toMatch(/hunter|abc\.def|aGk|aHVudGVy/);
  });

  it("leaves harmless values as they are", () => {
    for (const value of [
      "spark.executor.memory=4g",
      "-Dspark.sql.shuffle.partitions=400 -XX:+UseG1GC",
      "--conf spark.shuffle.sort.bypassMergeThreshold=200 --name daily",
      "jdbc:postgresql://db.example.internal:5432/orders?user=etl",
      "-Dspark.authenticate=true",
      "",
    ]) {
      expect(redactValue(value), value).toBe(value);
    }
  });

  it("hides every key that looks secret, and shows the ordinary ones containing pass, key or auth", () => {
    for (const key of [
      "spark.hadoop.fs.s3a.access.key",
      "spark.hadoop.fs.s3a.secret.key",
      "spark.ssl.keyStore",
      "spark.ssl.keyPassword",
      "javax.net.ssl.trustStorePassword",
      "spark.kerberos.keytab",
      "spark.authenticate.secret",
      "spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net",
      "spark.hadoop.fs.azure.account.auth.type",
      "AWS_SESSION_TOKEN",
      "spark.yarn.appMasterEnv.DB_PASS",
      "spark.executorEnv.dbpass",
      "spark.hadoop.http.header.Authorization",
      "spark.some.monkeypassword",
      "spark.sql.mapKey.secret",
    ]) {
      expect(isSecretKey(key), key).toBe(true);
      expect(redactProperty([key, "x"])).toEqual([key, R]);
    }
    for (const key of [
      "spark.executor.memory",
      "spark.sql.shuffle.partitions",
      "spark.shuffle.sort.bypassMergeThreshold",
      "spark.sql.mapKeyDedupPolicy",
      "spark.sql.requireAllClusterKeysForCoPartition",
      "spark.authenticate",
      "hadoop.security.authentication",
      "spark.master",
    ]) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it("redacts inside the value of an ordinary property", () => {
    expect(redactProperty(["spark.driver.extraJavaOptions", '-Dx=1 -Ddb.password="hunter2"'])).toEqual([
      "spark.driver.extraJavaOptions",
      `-Dx=1 -Ddb.password="${R}"`,
    ]);
  });

  it("takes linear time on long adversarial values under the cap", () => {
    const third = Math.floor(MAX_SCANNED_VALUE / 3);
    const values = [
      `${"a=".repeat(third / 2)}${'"'.repeat(third)}${" --x".repeat(third / 4)}`,
      // One long key with no separator: tried from each of its positions, it was quadratic.
      "a".repeat(MAX_SCANNED_VALUE),
      `${"a.".repeat(MAX_SCANNED_VALUE / 2 - 1)}=x`,
    ];
    for (const value of values) {
      const started = Date.now();
      redactValue(value);
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });

  it("redacts a value over the cap whole, saying how long it was", () => {
    expect(redactValue("a".repeat(MAX_SCANNED_VALUE + 1))).toBe(
      `${R} (a value of ${MAX_SCANNED_VALUE + 1} characters)`,
    );
    expect(redactValue("a".repeat(MAX_SCANNED_VALUE))).toBe("a".repeat(MAX_SCANNED_VALUE));
  });
});
