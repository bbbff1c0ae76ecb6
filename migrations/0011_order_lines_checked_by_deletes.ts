import { type Kysely, sql } from 'kysely'

/**
 * order_lines' two foreign keys (0001) become a guard on the side that can break them: a delete
 * of an order or a product that has lines is refused (SQLSTATE 23503, as the foreign key did),
 * and nothing is checked when a line is inserted. Issue 15: placing orders no slower than before.
 *
 * Why: a foreign key checks each inserted line with a query of its own (a trigger running
 * `select … for key share` through SPI on orders and on products) and locks the two rows once
 * more, a WAL record each. Measured per placed order with callgrind on the group-commit statement
 * (docs/benchmarks.md, "Placing orders: the outbox row made cheap"): ~85k of its ~460k
 * instructions. Those checks can never fail: lines are written only by the two order statements
 * (src/orders/place-order.ts, place-order-batch.ts), with the id of the order the same statement
 * has just inserted and of a product it holds locked (FOR NO KEY UPDATE) until it commits, and
 * the service deletes neither orders nor products (a product is taken off sale). What the
 * foreign keys also did, refuse to delete a referenced row, the trigger below keeps, at no cost
 * to an insert. (The outbox and the e-mail queue have no foreign keys for the same reason.)
 *
 * Dropping a foreign key takes a short ACCESS EXCLUSIVE lock on both tables; nothing is scanned.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function refuse_delete_with_order_lines() returns trigger language plpgsql as $$
    begin
      if (tg_table_name = 'orders'
          and exists (select from order_lines l where l.order_id = old.id))
         or (tg_table_name = 'products'
          and exists (select from order_lines l where l.product_id = old.id)) then
        raise foreign_key_violation using
          message = format('%s %s has order lines and cannot be deleted', tg_table_name, old.id),
          hint = 'Take a product off sale instead; orders are kept.';
      end if;
      return old;
    end
    $$
  `.execute(db)
  await sql`
    create trigger orders_keep_lines before delete on orders
      for each row execute function refuse_delete_with_order_lines()
  `.execute(db)
  await sql`
    create trigger products_keep_lines before delete on products
      for each row execute function refuse_delete_with_order_lines()
  `.execute(db)
  await sql`
    alter table order_lines
      drop constraint order_lines_order_id_fkey,
      drop constraint order_lines_product_id_fkey
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table order_lines
      add constraint order_lines_order_id_fkey foreign key (order_id) references orders (id),
      add constraint order_lines_product_id_fkey foreign key (product_id) references products (id)
  `.execute(db)
  await sql`drop trigger products_keep_lines on products`.execute(db)
  await sql`drop trigger orders_keep_lines on orders`.execute(db)
  await sql`drop function refuse_delete_with_order_lines()`.execute(db)
}
