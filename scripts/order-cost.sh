#!/bin/bash
# CPU and WAL cost of one order (docs/scaling.md): the service and the PostgreSQL backends serving
# its database, in CPU seconds from /proc (independent of how busy the machine is), and WAL bytes,
# over a wrk run of the form POST /orders. Needs wrk and the local PostgreSQL; DISPATCH=off to run
# without the webhook dispatcher. Usage: bash scripts/order-cost.sh
set -e
cd "$(dirname "$0")/.."
DB=order_cost
psql -h 127.0.0.1 -U postgres -qc "drop database if exists $DB with (force)" -c "create database $DB"
PORT=3377
NODE_ENV=production LOG_LEVEL=warn RATE_LIMIT_MAX=0 HOST=127.0.0.1 PORT=$PORT DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB WEB_CONCURRENCY=1 WEBHOOKS_DISPATCH=${DISPATCH:-on} setsid nohup node_modules/node/bin/node --max-semi-space-size=8 --max-old-space-size=192 src/server.ts > /tmp/cost-server.log 2>&1 < /dev/null &
SPID=$!
for i in $(seq 1 100); do curl -sf 127.0.0.1:$PORT/api/products >/dev/null && break; sleep 0.3; done
psql -h 127.0.0.1 -U postgres -d $DB -qc "update products set stock = 1000000000"
cpu() { # utime+stime ticks of the backends serving this database (the service's pool)
  local t=0; for p in $(psql -h 127.0.0.1 -U postgres -d $DB -tAc "select pid from pg_stat_activity where datname = '$DB' and pid <> pg_backend_pid()"); do s=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); t=$((t+s)); done; echo $t; }
scpu() { awk '{print $14+$15}' /proc/$SPID/stat; }
# warm-up
wrk -t2 -c32 -d3s -s test/bench/wrk/orders.lua http://127.0.0.1:$PORT -- $(node_modules/node/bin/node -e "import('./test/bench/flows.ts').then(m=>console.log(m.formArgs().join(' ')))") > /dev/null
ARGS=$(node_modules/node/bin/node -e "import('./test/bench/flows.ts').then(m=>console.log(m.formArgs().join(' ')))")
O0=$(psql -h 127.0.0.1 -U postgres -d $DB -tAc "select count(*) from orders")
L0=$(psql -h 127.0.0.1 -U postgres -d $DB -tAc "select pg_current_wal_lsn()")
P0=$(cpu); S0=$(scpu)
wrk -t2 -c32 -d15s -s test/bench/wrk/orders.lua http://127.0.0.1:$PORT -- $ARGS | grep WRK_JSON
P1=$(cpu); S1=$(scpu)
O1=$(psql -h 127.0.0.1 -U postgres -d $DB -tAc "select count(*) from orders")
L1=$(psql -h 127.0.0.1 -U postgres -d $DB -tAc "select pg_current_wal_lsn()")
W=$(psql -h 127.0.0.1 -U postgres -d $DB -tAc "select pg_wal_lsn_diff('$L1','$L0')")
N=$((O1-O0)); HZ=$(getconf CLK_TCK)
python3 -c "
n=$N; pg=($P1-$P0)/$HZ; sv=($S1-$S0)/$HZ; w=$W
print(f'orders {n}; postgres cpu {pg:.2f} s = {pg/n*1e6:.0f} us/order; service cpu {sv:.2f} s = {sv/n*1e6:.0f} us/order; WAL {w/n:.0f} bytes/order')"
kill $SPID
