-- examples/shop: a small shop's tables, replicated by a labsup lab
-- ([replication] schema = this file).  Plain CREATE TABLE statements:
-- labsup runs the file on every node and learns the tables from it.
CREATE TABLE customers (
	id int PRIMARY KEY,
	name text NOT NULL,
	region text NOT NULL		-- eu, us, apac: row filters use it
);

CREATE TABLE products (
	id int PRIMARY KEY,
	title text NOT NULL,
	price_cents int NOT NULL
);

CREATE TABLE orders (
	id bigserial PRIMARY KEY,
	customer_id int NOT NULL,
	product_id int NOT NULL,
	qty int NOT NULL,
	placed_at timestamptz NOT NULL DEFAULT now()
);
