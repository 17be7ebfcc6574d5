/** `fleet login` (a browser sign-in for the registry) and `fleet logout`. */
import type { CliContext } from "./cli.context.ts";
import { CliError, EXIT } from "./cli.errors.ts";
import { RegistryHttpError } from "./registry.api.client.ts";

export async function login(ctx: CliContext, options: { scope?: string }): Promise<void> {
  const token = await ctx.signIn.accessToken({
    serverUrl: ctx.registryUrl,
    purpose: `the fleet registry at ${ctx.registryUrl}`,
    scopes: options.scope?.split(/[\s,]+/).filter(Boolean) ?? [],
    interactive: true,
    force: true,
  });
  let who = "";
  try {
    const { caller } = await ctx.registry.me(token.token);
    who = ` as ${caller.name}${caller.groups.length > 0 ? ` (${caller.groups.join(", ")})` : " (no groups)"}`;
  } catch (error) {
    if (error instanceof RegistryHttpError && error.status === 401) {
      ctx.signIn.forget(token.resource);
      throw new CliError(`the registry does not accept the new token: ${error.message}`, EXIT.auth);
    }
    throw error;
  }
  ctx.err(`Signed in to ${ctx.registryUrl}${who}; scopes: ${token.scopes.join(" ") || "(none)"}.`);
  ctx.err(`Credentials: ${ctx.store.path}`);
}

export async function logout(ctx: CliContext, options: { all?: boolean }): Promise<void> {
  const removed = await ctx.signIn.logout(options.all ?? false);
  if (removed.length === 0) {
    ctx.err(`No stored sign-in${options.all ? "" : ` for ${ctx.registryUrl}`}.`);
    return;
  }
  ctx.err(`Signed out: removed the tokens for ${removed.map((tokens) => tokens.resource).join(", ")}.`);
}
