/** What the Spark server's workerd tests share: callers, the sample applications, one call per connection. */
import { connect } from "../../test/workers/mcp-client";

/** Against the local History Server fleet.config.ts starts for this project (local/spark.upstream.ts). */
export const ALICE = "alice; groups=data-eng; scopes=spark:read";
export const BOT = "service:etl-bot; scopes=spark:read";
export const FAILED_APP = "application_1764570000000_0044";
export const MULTI = "application_1764570000000_0038";
export const HEALTHY = "app-20261201061500-0003";
export const LOST = "application_1764570000000_0047";

export type Result = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
};

export async function call(
  user: string,
  name: string,
  args: Record<string, unknown> = {},
  onprogress?: (p: { progress: number; message?: string }) => void,
) {
  const { client } = await connect({ user });
  const result = (await client.callTool({ name, arguments: args }, onprogress ? { onprogress } : undefined)) as Result;
  await client.close();
  return result;
}
