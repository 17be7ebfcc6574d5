/**
 * Realistic analytical SQL the read-only guard must accept within its prediction budget
 * (presto.parse.ts): TPC-H and TPC-DS shaped queries (CTEs, many joins, correlated and nested
 * subqueries, window functions, grouping sets), what agents write against the fleet, and one
 * generated 200-line report. The guard's tests and `npm run bench` parse every one of them.
 */

export interface AnalyticsQuery {
  name: string;
  sql: string;
}

const tpch: AnalyticsQuery[] = [
  {
    name: "tpch q2: correlated subquery, five-way join",
    sql: `SELECT s_acctbal, s_name, n_name, p_partkey, p_mfgr, s_address, s_phone, s_comment
FROM tpch.sf1.part, tpch.sf1.supplier, tpch.sf1.partsupp, tpch.sf1.nation, tpch.sf1.region
WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size = 15 AND p_type LIKE '%BRASS'
  AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'EUROPE'
  AND ps_supplycost = (
    SELECT min(ps_supplycost)
    FROM tpch.sf1.partsupp, tpch.sf1.supplier, tpch.sf1.nation, tpch.sf1.region
    WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND s_nationkey = n_nationkey
      AND n_regionkey = r_regionkey AND r_name = 'EUROPE')
ORDER BY s_acctbal DESC, n_name, s_name, p_partkey
LIMIT 100`,
  },
  {
    name: "tpch q8: derived table, CASE in an aggregate, extract",
    sql: `SELECT o_year, sum(CASE WHEN nation = 'BRAZIL' THEN volume ELSE 0 END) / sum(volume) AS mkt_share
FROM (
  SELECT extract(year FROM o_orderdate) AS o_year, l_extendedprice * (1 - l_discount) AS volume, n2.n_name AS nation
  FROM tpch.sf1.part, tpch.sf1.supplier, tpch.sf1.lineitem, tpch.sf1.orders, tpch.sf1.customer,
       tpch.sf1.nation n1, tpch.sf1.nation n2, tpch.sf1.region
  WHERE p_partkey = l_partkey AND s_suppkey = l_suppkey AND l_orderkey = o_orderkey
    AND o_custkey = c_custkey AND c_nationkey = n1.n_nationkey AND n1.n_regionkey = r_regionkey
    AND r_name = 'AMERICA' AND s_nationkey = n2.n_nationkey
    AND o_orderdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31' AND p_type = 'ECONOMY ANODIZED STEEL'
) AS all_nations
GROUP BY o_year
ORDER BY o_year`,
  },
  {
    name: "tpch q13: left outer join in a derived table",
    sql: `SELECT c_count, count(*) AS custdist
FROM (
  SELECT c_custkey, count(o_orderkey) AS c_count
  FROM tpch.sf1.customer LEFT OUTER JOIN tpch.sf1.orders
    ON c_custkey = o_custkey AND o_comment NOT LIKE '%special%requests%'
  GROUP BY c_custkey
) AS c_orders
GROUP BY c_count
ORDER BY custdist DESC, c_count DESC`,
  },
  {
    name: "tpch q15: CTE with a scalar subquery over it",
    sql: `WITH revenue0 AS (
  SELECT l_suppkey AS supplier_no, sum(l_extendedprice * (1 - l_discount)) AS total_revenue
  FROM tpch.sf1.lineitem
  WHERE l_shipdate >= DATE '1996-01-01' AND l_shipdate < DATE '1996-01-01' + INTERVAL '3' MONTH
  GROUP BY l_suppkey
)
SELECT s_suppkey, s_name, s_address, s_phone, total_revenue
FROM tpch.sf1.supplier, revenue0
WHERE s_suppkey = supplier_no AND total_revenue = (SELECT max(total_revenue) FROM revenue0)
ORDER BY s_suppkey`,
  },
  {
    name: "tpch q18: IN subquery with HAVING",
    sql: `SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity)
FROM tpch.sf1.customer, tpch.sf1.orders, tpch.sf1.lineitem
WHERE o_orderkey IN (SELECT l_orderkey FROM tpch.sf1.lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > 300)
  AND c_custkey = o_custkey AND o_orderkey = l_orderkey
GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice
ORDER BY o_totalprice DESC, o_orderdate
LIMIT 100`,
  },
  {
    name: "tpch q20: three nested subqueries (IN, IN, scalar)",
    sql: `SELECT s_name, s_address
FROM tpch.sf1.supplier, tpch.sf1.nation
WHERE s_suppkey IN (
    SELECT ps_suppkey FROM tpch.sf1.partsupp
    WHERE ps_partkey IN (SELECT p_partkey FROM tpch.sf1.part WHERE p_name LIKE 'forest%')
      AND ps_availqty > (
        SELECT 0.5 * sum(l_quantity) FROM tpch.sf1.lineitem
        WHERE l_partkey = ps_partkey AND l_suppkey = ps_suppkey
          AND l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR))
  AND s_nationkey = n_nationkey AND n_name = 'CANADA'
ORDER BY s_name`,
  },
  {
    name: "tpch q21: EXISTS and NOT EXISTS",
    sql: `SELECT s_name, count(*) AS numwait
FROM tpch.sf1.supplier, tpch.sf1.lineitem l1, tpch.sf1.orders, tpch.sf1.nation
WHERE s_suppkey = l1.l_suppkey AND o_orderkey = l1.l_orderkey AND o_orderstatus = 'F'
  AND l1.l_receiptdate > l1.l_commitdate
  AND EXISTS (SELECT * FROM tpch.sf1.lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)
  AND NOT EXISTS (
    SELECT * FROM tpch.sf1.lineitem l3
    WHERE l3.l_orderkey = l1.l_orderkey AND l3.l_suppkey <> l1.l_suppkey AND l3.l_receiptdate > l3.l_commitdate)
  AND s_nationkey = n_nationkey AND n_name = 'SAUDI ARABIA'
GROUP BY s_name
ORDER BY numwait DESC, s_name
LIMIT 100`,
  },
  {
    name: "tpch q22: substring, IN list, nested scalar subquery",
    sql: `SELECT cntrycode, count(*) AS numcust, sum(c_acctbal) AS totacctbal
FROM (
  SELECT substring(c_phone, 1, 2) AS cntrycode, c_acctbal
  FROM tpch.sf1.customer
  WHERE substring(c_phone, 1, 2) IN ('13', '31', '23', '29', '30', '18', '17')
    AND c_acctbal > (
      SELECT avg(c_acctbal) FROM tpch.sf1.customer
      WHERE c_acctbal > 0.00 AND substring(c_phone, 1, 2) IN ('13', '31', '23', '29', '30', '18', '17'))
    AND NOT EXISTS (SELECT * FROM tpch.sf1.orders WHERE o_custkey = c_custkey)
) AS custsale
GROUP BY cntrycode
ORDER BY cntrycode`,
  },
];

const tpcds: AnalyticsQuery[] = [
  {
    name: "tpcds q1: CTE, correlated scalar subquery on it",
    sql: `WITH customer_total_return AS (
  SELECT sr_customer_sk AS ctr_customer_sk, sr_store_sk AS ctr_store_sk, sum(sr_return_amt) AS ctr_total_return
  FROM tpcds.sf1.store_returns, tpcds.sf1.date_dim
  WHERE sr_returned_date_sk = d_date_sk AND d_year = 2000
  GROUP BY sr_customer_sk, sr_store_sk)
SELECT c_customer_id
FROM customer_total_return ctr1, tpcds.sf1.store, tpcds.sf1.customer
WHERE ctr1.ctr_total_return > (
    SELECT avg(ctr_total_return) * 1.2 FROM customer_total_return ctr2 WHERE ctr1.ctr_store_sk = ctr2.ctr_store_sk)
  AND s_store_sk = ctr1.ctr_store_sk AND s_state = 'TN' AND ctr1.ctr_customer_sk = c_customer_sk
ORDER BY c_customer_id
LIMIT 100`,
  },
  {
    name: "tpcds q47: window functions over a CTE, self-joins",
    sql: `WITH v1 AS (
  SELECT i_category, i_brand, s_store_name, s_company_name, d_year, d_moy, sum(ss_sales_price) AS sum_sales,
    avg(sum(ss_sales_price)) OVER (PARTITION BY i_category, i_brand, s_store_name, s_company_name, d_year) AS avg_monthly_sales,
    rank() OVER (PARTITION BY i_category, i_brand, s_store_name, s_company_name ORDER BY d_year, d_moy) AS rn
  FROM tpcds.sf1.item, tpcds.sf1.store_sales, tpcds.sf1.date_dim, tpcds.sf1.store
  WHERE ss_item_sk = i_item_sk AND ss_sold_date_sk = d_date_sk AND ss_store_sk = s_store_sk
    AND (d_year = 1999 OR (d_year = 1999 - 1 AND d_moy = 12) OR (d_year = 1999 + 1 AND d_moy = 1))
  GROUP BY i_category, i_brand, s_store_name, s_company_name, d_year, d_moy),
v2 AS (
  SELECT v1.i_category, v1.i_brand, v1.s_store_name, v1.s_company_name, v1.d_year, v1.d_moy, v1.avg_monthly_sales,
    v1.sum_sales, v1_lag.sum_sales AS psum, v1_lead.sum_sales AS nsum
  FROM v1, v1 v1_lag, v1 v1_lead
  WHERE v1.i_category = v1_lag.i_category AND v1.i_category = v1_lead.i_category AND v1.i_brand = v1_lag.i_brand
    AND v1.i_brand = v1_lead.i_brand AND v1.s_store_name = v1_lag.s_store_name
    AND v1.s_store_name = v1_lead.s_store_name AND v1.s_company_name = v1_lag.s_company_name
    AND v1.s_company_name = v1_lead.s_company_name AND v1.rn = v1_lag.rn + 1 AND v1.rn = v1_lead.rn - 1)
SELECT *
FROM v2
WHERE d_year = 1999 AND avg_monthly_sales > 0
  AND CASE WHEN avg_monthly_sales > 0 THEN abs(sum_sales - avg_monthly_sales) / avg_monthly_sales ELSE NULL END > 0.1
ORDER BY sum_sales - avg_monthly_sales, s_store_name
LIMIT 100`,
  },
  {
    name: "tpcds q67: ROLLUP, rank over a derived table",
    sql: `SELECT *
FROM (
  SELECT i_category, i_class, i_brand, i_product_name, d_year, d_qoy, d_moy, s_store_id, sumsales,
    rank() OVER (PARTITION BY i_category ORDER BY sumsales DESC) AS rk
  FROM (
    SELECT i_category, i_class, i_brand, i_product_name, d_year, d_qoy, d_moy, s_store_id,
      sum(coalesce(ss_sales_price * ss_quantity, 0)) AS sumsales
    FROM tpcds.sf1.store_sales, tpcds.sf1.date_dim, tpcds.sf1.store, tpcds.sf1.item
    WHERE ss_sold_date_sk = d_date_sk AND ss_item_sk = i_item_sk AND ss_store_sk = s_store_sk
      AND d_month_seq BETWEEN 1200 AND 1200 + 11
    GROUP BY ROLLUP (i_category, i_class, i_brand, i_product_name, d_year, d_qoy, d_moy, s_store_id)) dw1) dw2
WHERE rk <= 100
ORDER BY i_category, i_class, i_brand, i_product_name, d_year, d_qoy, d_moy, s_store_id, sumsales, rk
LIMIT 100`,
  },
  {
    name: "tpcds q14-like: INTERSECT in a CTE, UNION ALL, HAVING with a subquery",
    sql: `WITH cross_items AS (
  SELECT i_item_sk AS ss_item_sk
  FROM tpcds.sf1.item, (
    SELECT iss.i_brand_id AS brand_id, iss.i_class_id AS class_id, iss.i_category_id AS category_id
    FROM tpcds.sf1.store_sales, tpcds.sf1.item iss, tpcds.sf1.date_dim d1
    WHERE ss_item_sk = iss.i_item_sk AND ss_sold_date_sk = d1.d_date_sk AND d1.d_year BETWEEN 1999 AND 1999 + 2
    INTERSECT
    SELECT ics.i_brand_id, ics.i_class_id, ics.i_category_id
    FROM tpcds.sf1.catalog_sales, tpcds.sf1.item ics, tpcds.sf1.date_dim d2
    WHERE cs_item_sk = ics.i_item_sk AND cs_sold_date_sk = d2.d_date_sk AND d2.d_year BETWEEN 1999 AND 1999 + 2
    INTERSECT
    SELECT iws.i_brand_id, iws.i_class_id, iws.i_category_id
    FROM tpcds.sf1.web_sales, tpcds.sf1.item iws, tpcds.sf1.date_dim d3
    WHERE ws_item_sk = iws.i_item_sk AND ws_sold_date_sk = d3.d_date_sk AND d3.d_year BETWEEN 1999 AND 1999 + 2) x
  WHERE i_brand_id = brand_id AND i_class_id = class_id AND i_category_id = category_id),
avg_sales AS (
  SELECT avg(quantity * list_price) AS average_sales
  FROM (
    SELECT ss_quantity AS quantity, ss_list_price AS list_price FROM tpcds.sf1.store_sales, tpcds.sf1.date_dim
    WHERE ss_sold_date_sk = d_date_sk AND d_year BETWEEN 1999 AND 1999 + 2
    UNION ALL
    SELECT cs_quantity, cs_list_price FROM tpcds.sf1.catalog_sales, tpcds.sf1.date_dim
    WHERE cs_sold_date_sk = d_date_sk AND d_year BETWEEN 1999 AND 1999 + 2
    UNION ALL
    SELECT ws_quantity, ws_list_price FROM tpcds.sf1.web_sales, tpcds.sf1.date_dim
    WHERE ws_sold_date_sk = d_date_sk AND d_year BETWEEN 1999 AND 1999 + 2) x)
SELECT channel, i_brand_id, i_class_id, i_category_id, sum(sales) AS total_sales, sum(number_sales) AS total_count
FROM (
  SELECT 'store' AS channel, i_brand_id, i_class_id, i_category_id, sum(ss_quantity * ss_list_price) AS sales,
    count(*) AS number_sales
  FROM tpcds.sf1.store_sales, tpcds.sf1.item, tpcds.sf1.date_dim
  WHERE ss_item_sk IN (SELECT ss_item_sk FROM cross_items) AND ss_item_sk = i_item_sk
    AND ss_sold_date_sk = d_date_sk AND d_year = 1999 + 2 AND d_moy = 11
  GROUP BY i_brand_id, i_class_id, i_category_id
  HAVING sum(ss_quantity * ss_list_price) > (SELECT average_sales FROM avg_sales)
  UNION ALL
  SELECT 'catalog' AS channel, i_brand_id, i_class_id, i_category_id, sum(cs_quantity * cs_list_price) AS sales,
    count(*) AS number_sales
  FROM tpcds.sf1.catalog_sales, tpcds.sf1.item, tpcds.sf1.date_dim
  WHERE cs_item_sk IN (SELECT ss_item_sk FROM cross_items) AND cs_item_sk = i_item_sk
    AND cs_sold_date_sk = d_date_sk AND d_year = 1999 + 2 AND d_moy = 11
  GROUP BY i_brand_id, i_class_id, i_category_id
  HAVING sum(cs_quantity * cs_list_price) > (SELECT average_sales FROM avg_sales)) y
GROUP BY ROLLUP (channel, i_brand_id, i_class_id, i_category_id)
ORDER BY channel, i_brand_id, i_class_id, i_category_id
LIMIT 100`,
  },
];

const agents: AnalyticsQuery[] = [
  {
    name: "agent: funnel with FILTER, date_trunc, window lag",
    sql: `WITH daily AS (
  SELECT date_trunc('day', event_time) AS day,
    count(DISTINCT user_id) FILTER (WHERE event = 'visit') AS visitors,
    count(DISTINCT user_id) FILTER (WHERE event = 'signup') AS signups,
    count(DISTINCT user_id) FILTER (WHERE event = 'purchase') AS buyers
  FROM hive.web.events
  WHERE event_time >= current_date - INTERVAL '30' DAY
  GROUP BY 1)
SELECT day, visitors, signups, buyers,
  round(100.0 * signups / nullif(visitors, 0), 2) AS signup_rate,
  buyers - lag(buyers) OVER (ORDER BY day) AS buyers_change,
  avg(buyers) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS buyers_7d
FROM daily
ORDER BY day DESC`,
  },
  {
    name: "agent: top-N per group with row_number and a scalar subquery column",
    sql: `SELECT region, product, revenue, share
FROM (
  SELECT r.name AS region, p.name AS product, sum(o.total) AS revenue,
    sum(o.total) / (SELECT sum(total) FROM hive.sales.orders o2 WHERE o2.region_id = r.id) AS share,
    row_number() OVER (PARTITION BY r.name ORDER BY sum(o.total) DESC) AS rn
  FROM hive.sales.orders o
  JOIN hive.sales.products p ON p.id = o.product_id
  JOIN hive.sales.regions r ON r.id = o.region_id
  LEFT JOIN hive.sales.returns x ON x.order_id = o.order_id
  WHERE x.order_id IS NULL AND o.created >= DATE '2024-01-01'
  GROUP BY r.name, r.id, p.name) ranked
WHERE rn <= 5
ORDER BY region, rn`,
  },
  {
    name: "agent: arrays, maps, lambdas, UNNEST, JSON",
    sql: `SELECT u.user_id,
  cardinality(filter(u.tags, t -> t LIKE 'vip%')) AS vip_tags,
  transform(u.scores, s -> s * 2) AS doubled,
  reduce(u.scores, 0, (acc, s) -> acc + s, acc -> acc) AS total,
  element_at(u.attributes, 'country') AS country,
  json_extract_scalar(u.profile, '$.address.city') AS city,
  t.tag
FROM hive.crm.users u
CROSS JOIN UNNEST(u.tags) WITH ORDINALITY AS t (tag, position)
WHERE contains(u.tags, 'active') AND regexp_like(u.email, '^[a-z0-9._%+-]+@example\\.com$')
ORDER BY total DESC
LIMIT 50`,
  },
  {
    name: "agent: GROUPING SETS, CASE pivots, TRY_CAST, approx_percentile",
    sql: `SELECT coalesce(country, '(all)') AS country, coalesce(device, '(all)') AS device,
  sum(CASE WHEN channel = 'organic' THEN 1 ELSE 0 END) AS organic,
  sum(CASE WHEN channel = 'paid' THEN 1 ELSE 0 END) AS paid,
  sum(CASE WHEN channel NOT IN ('organic', 'paid') THEN 1 ELSE 0 END) AS other,
  approx_percentile(try_cast(duration_ms AS double), 0.95) AS p95_ms,
  grouping(country, device) AS level
FROM hive.web.sessions
WHERE day BETWEEN DATE '2024-06-01' AND DATE '2024-06-30'
GROUP BY GROUPING SETS ((country, device), (country), ())
ORDER BY level, country, device`,
  },
  {
    name: "agent: recursive CTE and a lateral join",
    sql: `WITH RECURSIVE org (employee_id, manager_id, depth) AS (
  SELECT employee_id, manager_id, 0 FROM hive.hr.employees WHERE manager_id IS NULL
  UNION ALL
  SELECT e.employee_id, e.manager_id, org.depth + 1
  FROM hive.hr.employees e JOIN org ON e.manager_id = org.employee_id
  WHERE org.depth < 10)
SELECT org.depth, count(*) AS people, max(latest.salary) AS top_salary
FROM org
CROSS JOIN LATERAL (
  SELECT s.salary FROM hive.hr.salaries s WHERE s.employee_id = org.employee_id ORDER BY s.since DESC LIMIT 1
) latest
GROUP BY org.depth
ORDER BY org.depth`,
  },
  {
    name: "agent: a few nested subqueries in the select list and WHERE",
    sql: `SELECT c.customer_id,
  (SELECT count(*) FROM hive.sales.orders o WHERE o.customer_id = c.customer_id) AS orders,
  (SELECT max(o.total) FROM hive.sales.orders o
    WHERE o.customer_id = c.customer_id
      AND o.total < (SELECT avg(total) FROM hive.sales.orders WHERE status = 'paid')) AS best_below_average,
  (SELECT name FROM hive.sales.regions r WHERE r.id = (SELECT region_id FROM hive.sales.addresses a
    WHERE a.customer_id = c.customer_id ORDER BY a.since DESC LIMIT 1)) AS region
FROM hive.sales.customers c
WHERE c.customer_id IN (SELECT customer_id FROM hive.sales.orders WHERE created > current_date - INTERVAL '7' DAY)
  AND EXISTS (SELECT 1 FROM hive.sales.payments p WHERE p.customer_id = c.customer_id AND p.status = 'ok')`,
  },
  {
    name: "agent: EXPLAIN and SHOW around real queries",
    sql: `EXPLAIN (TYPE DISTRIBUTED, FORMAT TEXT)
SELECT o.status, count(*) FROM hive.sales.orders o JOIN hive.sales.customers c ON c.customer_id = o.customer_id
GROUP BY o.status HAVING count(*) > 10`,
  },
];

/** A 200-line report: the shape of a long dashboard query (many columns, joins, CASEs, a CTE per metric). */
function longReport(): AnalyticsQuery {
  const metrics = ["revenue", "orders", "refunds", "visits", "signups", "churned"];
  const ctes = metrics.map(
    (metric, index) => `m_${metric} AS (
  SELECT account_id, date_trunc('month', day) AS month, sum(value) AS ${metric}
  FROM hive.metrics.daily_${metric}
  WHERE day >= DATE '2024-01-01' AND account_id IN (SELECT account_id FROM hive.crm.accounts WHERE tier <> 'test')
  GROUP BY 1, 2
  HAVING sum(value) > ${index}
)`,
  );
  const columns = Array.from({ length: 126 }, (_, index) => {
    const metric = metrics[index % metrics.length];
    return `  CASE WHEN m_${metric}.${metric} > ${index * 10} THEN 'high' WHEN m_${metric}.${metric} > ${index} THEN 'mid' ELSE 'low' END AS band_${index},`;
  });
  const joins = metrics.map(
    (metric) => `LEFT JOIN m_${metric} ON m_${metric}.account_id = a.account_id AND m_${metric}.month = months.month`,
  );
  const lines = [
    "WITH",
    `${ctes.join(",\n")},`,
    "months AS (SELECT month FROM UNNEST(sequence(DATE '2024-01-01', DATE '2024-12-01', INTERVAL '1' MONTH)) AS t (month))",
    "SELECT",
    "  a.account_id,",
    "  a.name,",
    "  months.month,",
    ...columns,
    ...metrics.map((metric) => `  coalesce(m_${metric}.${metric}, 0) AS ${metric},`),
    ...metrics.map(
      (metric) =>
        `  sum(coalesce(m_${metric}.${metric}, 0)) OVER (PARTITION BY a.account_id ORDER BY months.month) AS ${metric}_to_date,`,
    ),
    "  rank() OVER (PARTITION BY months.month ORDER BY coalesce(m_revenue.revenue, 0) DESC) AS revenue_rank",
    "FROM hive.crm.accounts a",
    "CROSS JOIN months",
    ...joins,
    "WHERE a.created < months.month",
    "  AND a.region IN ('emea', 'amer', 'apac')",
    "  AND NOT EXISTS (SELECT 1 FROM hive.crm.blocklist b WHERE b.account_id = a.account_id)",
    "ORDER BY months.month, revenue_rank",
    "LIMIT 10000",
  ];
  const sql = lines.join("\n");
  return { name: `generated: a ${sql.split("\n").length}-line monthly report`, sql };
}

export const ANALYTICS_QUERIES: readonly AnalyticsQuery[] = [...tpch, ...tpcds, ...agents, longReport()];
