/** The registry Worker (being rebuilt on the new schema; see issue 4). */
import { Hono } from "hono";
import { pageApp } from "./registry.page";

const app = new Hono();
app.get("/health", (c) => c.json({ status: "ok" }));
app.route("/", pageApp);
export default app;
