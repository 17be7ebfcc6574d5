/**
 * Deterministic sample data for the local Presto/Trino coordinator
 * (local/presto.upstream.ts): a small retail shop (`hive.sales`) and its
 * advertising (`hive.ads`). Every value comes from a seeded PRNG, so the same
 * seed always yields byte-identical tables — tests may assert exact numbers.
 * presto.duckdb.catalogs.ts creates and fills the tables.
 */

/** A column with its Trino type; the tables are created with these type names. */
export interface SampleColumn {
  name: string;
  type: string;
}

export type SampleValue = string | number | null;

export interface SampleTable {
  schema: string;
  name: string;
  columns: SampleColumn[];
  rows: SampleValue[][];
}

export const SAMPLE_CATALOG = "hive";
export const SAMPLE_SCHEMAS = ["sales", "ads"] as const;
export const DEFAULT_SAMPLE_SEED = 20240101;

/** mulberry32: tiny, fast, good enough for sample data. */
function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number): number => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    /** Picks from `[value, weight]` pairs. */
    weighted: <T>(pairs: readonly (readonly [T, number])[]): T => {
      const total = pairs.reduce((sum, [, weight]) => sum + weight, 0);
      let roll = next() * total;
      for (const [value, weight] of pairs) {
        roll -= weight;
        if (roll < 0) return value;
      }
      return pairs[pairs.length - 1]?.[0] as T;
    },
  };
}

type Random = ReturnType<typeof createRandom>;

const DAY_MS = 86_400_000;

function dayNumber(isoDate: string): number {
  return Math.floor(Date.parse(`${isoDate}T00:00:00Z`) / DAY_MS);
}

function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function isoTimestamp(day: number, secondOfDay: number): string {
  return new Date(day * DAY_MS + secondOfDay * 1000).toISOString().slice(0, 23).replace("T", " ");
}

const money = (value: number): number => Math.round(value * 100) / 100;

const words = (text: string): string[] => text.trim().split(/\s+/);

const FIRST_NAMES = words(`
  Ada Alan Amara Ana Ben Carla Chen Dana Diego Elena Emil Fatima Grace Hana Ivan Jonas Kai Lars Lea Lina
  Marco Maya Mei Nadia Noah Olga Omar Priya Rafael Rosa Sam Sofia Tariq Theo Uma Victor Wen Yara Yusuf Zoe
`);

const LAST_NAMES = words(`
  Andersen Bauer Costa Dubois Eriksson Fischer Garcia Hoffmann Ito Jensen Kowalski Lopez Martin Nakamura Novak
  Okafor Patel Quinn Rossi Schmidt Silva Tanaka Usman Varga Wagner Walsh Xu Yilmaz Zhang Ziegler
`);

const COUNTRIES = [
  ["US", 30],
  ["DE", 12],
  ["GB", 10],
  ["FR", 8],
  ["IN", 8],
  ["BR", 6],
  ["JP", 5],
  ["CA", 5],
  ["AU", 4],
  ["ES", 4],
  ["NL", 3],
  ["SE", 3],
  ["MX", 2],
] as const;

const TIERS = [
  ["bronze", 60],
  ["silver", 25],
  ["gold", 12],
  ["platinum", 3],
] as const;

const PRODUCT_CATEGORIES = [
  {
    category: "Electronics",
    nouns: ["Headphones", "Speaker", "Charger", "Keyboard", "Monitor", "Webcam"],
    price: [19, 399],
  },
  { category: "Books", nouns: ["Cookbook", "Novel", "Atlas", "Guide", "Anthology"], price: [8, 45] },
  { category: "Home", nouns: ["Lamp", "Blanket", "Mug Set", "Vase", "Clock", "Rug"], price: [12, 180] },
  { category: "Garden", nouns: ["Planter", "Hose", "Shears", "Seed Kit", "Bird Feeder"], price: [6, 120] },
  { category: "Toys", nouns: ["Puzzle", "Robot Kit", "Board Game", "Plush Bear", "Kite"], price: [9, 85] },
  { category: "Sports", nouns: ["Yoga Mat", "Water Bottle", "Running Belt", "Dumbbell", "Jump Rope"], price: [7, 150] },
  { category: "Beauty", nouns: ["Face Cream", "Shampoo", "Lip Balm", "Perfume", "Hair Brush"], price: [5, 95] },
] as const;

const ADJECTIVES = words("Classic Compact Deluxe Eco Essential Pro Smart Travel Ultra Vintage");

const ORDER_STATUSES = [
  ["completed", 70],
  ["shipped", 10],
  ["pending", 5],
  ["canceled", 8],
  ["returned", 7],
] as const;
const SALES_CHANNELS = [
  ["web", 55],
  ["mobile", 35],
  ["store", 10],
] as const;
const ITEMS_PER_ORDER = [
  [1, 25],
  [2, 30],
  [3, 25],
  [4, 15],
  [5, 5],
] as const;
const QUANTITIES = [
  [1, 70],
  [2, 20],
  [3, 7],
  [5, 3],
] as const;
const DISCOUNTS = [
  [0, 70],
  [0.05, 12],
  [0.1, 10],
  [0.2, 6],
  [0.3, 2],
] as const;

const AD_CHANNELS = [
  { channel: "search", ctr: 0.045, cpc: 0.9 },
  { channel: "social", ctr: 0.012, cpc: 0.6 },
  { channel: "display", ctr: 0.004, cpc: 0.35 },
  { channel: "video", ctr: 0.008, cpc: 1.1 },
  { channel: "email", ctr: 0.03, cpc: 0.2 },
] as const;
const AD_OBJECTIVES = ["awareness", "traffic", "conversions", "retargeting"] as const;
const AD_THEMES = [
  "Spring Sale",
  "Summer Deals",
  "Back to School",
  "Black Friday",
  "Holiday Gifts",
  "New Arrivals",
  "Clearance",
  "Loyalty",
] as const;
const CAMPAIGN_DAYS = 100;

const FIRST_SIGNUP_DAY = dayNumber("2021-01-01");
const LAST_SIGNUP_DAY = dayNumber("2024-06-30");
const FIRST_ORDER_DAY = dayNumber("2022-01-01");
const LAST_ORDER_DAY = dayNumber("2024-12-31");
const FIRST_CAMPAIGN_DAY = dayNumber("2023-01-01");
const LAST_CAMPAIGN_START_DAY = dayNumber("2024-09-22");
/** Campaigns whose last day is before this date are "ended". */
const CAMPAIGN_STATUS_DAY = dayNumber("2024-10-01");

interface Product {
  id: number;
  price: number;
}

function customersTable(random: Random): SampleTable {
  const rows: SampleValue[][] = [];
  for (let id = 1; id <= 2000; id++) {
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    rows.push([
      id,
      `${first} ${last}`,
      `${first}.${last}${id}@example.com`.toLowerCase(),
      random.weighted(COUNTRIES),
      isoDate(random.int(FIRST_SIGNUP_DAY, LAST_SIGNUP_DAY)),
      random.weighted(TIERS),
      random.next() < 0.4 ? 1 : 0,
    ]);
  }
  return {
    schema: "sales",
    name: "customers",
    columns: [
      { name: "customer_id", type: "bigint" },
      { name: "name", type: "varchar" },
      { name: "email", type: "varchar" },
      { name: "country", type: "varchar" },
      { name: "signup_date", type: "date" },
      { name: "tier", type: "varchar" },
      { name: "marketing_opt_in", type: "boolean" },
    ],
    rows,
  };
}

function productsTable(random: Random): { table: SampleTable; products: Product[] } {
  const rows: SampleValue[][] = [];
  const products: Product[] = [];
  let id = 1;
  for (const { category, nouns, price } of PRODUCT_CATEGORIES) {
    for (const noun of nouns) {
      for (const adjective of ADJECTIVES.slice(0, 4 + random.int(0, 3))) {
        const unitPrice = money(random.int(price[0], price[1]) - 0.01);
        products.push({ id, price: unitPrice });
        rows.push([id, `${adjective} ${noun}`, category, unitPrice, random.next() < 0.08 ? 0 : 1]);
        id++;
      }
    }
  }
  const table: SampleTable = {
    schema: "sales",
    name: "products",
    columns: [
      { name: "product_id", type: "bigint" },
      { name: "name", type: "varchar" },
      { name: "category", type: "varchar" },
      { name: "list_price", type: "double" },
      { name: "active", type: "boolean" },
    ],
    rows,
  };
  return { table, products };
}

/** Orders and their line items; an order's total is the sum of its discounted items. */
function ordersTables(random: Random, customers: SampleTable, products: Product[]): SampleTable[] {
  const orders: SampleValue[][] = [];
  const items: SampleValue[][] = [];
  const signupDays = customers.rows.map((row) => dayNumber(row[4] as string));
  let itemId = 1;
  for (let orderId = 1; orderId <= 10_000; orderId++) {
    // Squaring skews orders towards low customer ids: a few loyal customers, a long tail.
    const customerIndex = Math.floor(random.next() ** 2 * signupDays.length);
    const firstDay = Math.max(FIRST_ORDER_DAY, signupDays[customerIndex] as number);
    const orderDay = random.int(Math.min(firstDay, LAST_ORDER_DAY), LAST_ORDER_DAY);
    let total = 0;
    const itemCount = random.weighted(ITEMS_PER_ORDER);
    for (let line = 0; line < itemCount; line++) {
      const product = random.pick(products);
      const quantity = random.weighted(QUANTITIES);
      const discount = random.weighted(DISCOUNTS);
      total += quantity * product.price * (1 - discount);
      items.push([itemId++, orderId, product.id, quantity, product.price, discount]);
    }
    orders.push([
      orderId,
      customerIndex + 1,
      isoDate(orderDay),
      isoTimestamp(orderDay, random.int(6 * 3600, 23 * 3600)),
      random.weighted(ORDER_STATUSES),
      random.weighted(SALES_CHANNELS),
      money(total),
    ]);
  }
  return [
    {
      schema: "sales",
      name: "orders",
      columns: [
        { name: "order_id", type: "bigint" },
        { name: "customer_id", type: "bigint" },
        { name: "order_date", type: "date" },
        { name: "created_at", type: "timestamp(3)" },
        { name: "status", type: "varchar" },
        { name: "channel", type: "varchar" },
        { name: "total", type: "double" },
      ],
      rows: orders,
    },
    {
      schema: "sales",
      name: "order_items",
      columns: [
        { name: "order_item_id", type: "bigint" },
        { name: "order_id", type: "bigint" },
        { name: "product_id", type: "bigint" },
        { name: "quantity", type: "integer" },
        { name: "unit_price", type: "double" },
        { name: "discount", type: "double" },
      ],
      rows: items,
    },
  ];
}

/** 200 campaigns, each running exactly CAMPAIGN_DAYS days, so impressions has 20 000 rows. */
function adsTables(random: Random): SampleTable[] {
  const campaigns: SampleValue[][] = [];
  const impressions: SampleValue[][] = [];
  for (let id = 1; id <= 200; id++) {
    const channel = random.pick(AD_CHANNELS);
    const startDay = random.int(FIRST_CAMPAIGN_DAY, LAST_CAMPAIGN_START_DAY);
    const endDay = startDay + CAMPAIGN_DAYS - 1;
    const dailyBudget = random.int(5, 60) * 10;
    const status = endDay < CAMPAIGN_STATUS_DAY ? "ended" : random.next() < 0.2 ? "paused" : "active";
    const year = isoDate(startDay).slice(0, 4);
    campaigns.push([
      id,
      `${random.pick(AD_THEMES)} ${year} - ${channel.channel} #${id}`,
      channel.channel,
      random.pick(AD_OBJECTIVES),
      isoDate(startDay),
      isoDate(endDay),
      dailyBudget,
      status,
    ]);
    for (let day = startDay; day <= endDay; day++) {
      const weekend = new Date(day * DAY_MS).getUTCDay() % 6 === 0;
      const volume = random.int(2_000, 60_000) * (weekend ? 0.7 : 1);
      const shown = Math.round(volume);
      const clicks = Math.round(shown * channel.ctr * (0.5 + random.next()));
      const spend = money(Math.min(dailyBudget, clicks * channel.cpc * (0.8 + random.next() * 0.4)));
      const conversions = Math.round(clicks * (0.01 + random.next() * 0.05));
      impressions.push([id, isoDate(day), shown, clicks, spend, conversions]);
    }
  }
  return [
    {
      schema: "ads",
      name: "campaigns",
      columns: [
        { name: "campaign_id", type: "bigint" },
        { name: "name", type: "varchar" },
        { name: "channel", type: "varchar" },
        { name: "objective", type: "varchar" },
        { name: "start_date", type: "date" },
        { name: "end_date", type: "date" },
        { name: "daily_budget", type: "double" },
        { name: "status", type: "varchar" },
      ],
      rows: campaigns,
    },
    {
      schema: "ads",
      name: "impressions",
      columns: [
        { name: "campaign_id", type: "bigint" },
        { name: "day", type: "date" },
        { name: "impressions", type: "bigint" },
        { name: "clicks", type: "bigint" },
        { name: "spend", type: "double" },
        { name: "conversions", type: "bigint" },
      ],
      rows: impressions,
    },
  ];
}

/** Generates all sample tables (booleans as 0/1, dates and timestamps as ISO text, UTC). */
export function generateSampleTables(seed: number = DEFAULT_SAMPLE_SEED): SampleTable[] {
  const random = createRandom(seed);
  const customers = customersTable(random);
  const { table: products, products: productList } = productsTable(random);
  return [customers, products, ...ordersTables(random, customers, productList), ...adsTables(random)];
}
