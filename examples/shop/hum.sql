-- examples/shop/hum.sql: the shop's load, in pgbench's script syntax.
-- A customer (skewed: a few buy a lot) orders 1 to 3 of a product.
\set customer random_zipfian(1, 8, 1.5)
\set product random(1, 5)
\set qty random(1, 3)
BEGIN;
SELECT price_cents FROM products WHERE id = :product;
INSERT INTO orders (customer_id, product_id, qty) VALUES (:customer, :product, :qty);
END;
