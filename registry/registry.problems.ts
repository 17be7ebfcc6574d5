/**
 * Errors as RFC 9457 problem details, the way the official registry answers them: a title, the
 * status, a detail a person can act on and, for bad input, each offending field's location.
 */
import type { Context } from "hono";
import type { ZodError } from "zod";

export interface FieldError {
  location: string;
  message: string;
  value?: unknown;
}

export function problem(
  c: Context,
  status: 400 | 401 | 403 | 404 | 409 | 413 | 500 | 503,
  title: string,
  detail: string,
  errors?: FieldError[],
): Response {
  return c.body(JSON.stringify({ title, status, detail, ...(errors ? { errors } : {}) }), status, {
    "content-type": "application/problem+json",
  });
}

/** 400 naming every invalid field (`body.remotes[0].url: Invalid URL`); nothing was changed. */
export function validationProblem(c: Context, error: ZodError, target: string): Response {
  const where = target === "json" ? "body" : target === "param" ? "path" : target;
  const errors = error.issues.map((issue) => ({
    location: [where, ...issue.path].reduce<string>(
      (path, key) => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key)),
      "",
    ),
    message: issue.message,
  }));
  const detail = errors.map((e) => `${e.location}: ${e.message}`).join("; ");
  return problem(c, 400, "Bad Request", `invalid input (nothing was changed): ${detail}`, errors);
}
