-- The naive order transaction, five statements and five round trips: the database's ceiling
-- for order writes done the usual way, to compare POST /orders against.
\set pid random(1, 14)
BEGIN;
UPDATE products SET stock = stock - 1 WHERE id = :pid AND stock >= 1;
INSERT INTO orders (order_number, idempotency_key, request_hash, customer_name, email, address, city, state, zip, total_cents)
  VALUES (gen_random_uuid()::text, gen_random_uuid()::text, 'h', 'Ada Lovelace', 'ada@example.com', '12 Main St', 'Austin', 'TX', '78701', 1800);
INSERT INTO order_lines (order_id, product_id, quantity, unit_price_cents)
  VALUES (currval(pg_get_serial_sequence('orders', 'id')), :pid, 1, 1800);
COMMIT;
