/**
 * What placing an order asks of PostgreSQL, counted in instructions: the backend's instruction
 * count (valgrind's callgrind, `Ir`) per placed order while it runs a checkout's own group-commit
 * statement (placeOrderBatch) at a fixed batch size, that checkout's webhook fan-out of the
 * events the orders wrote (fanOut, no endpoint, mail off) as its dispatcher would, and its sales
 * fold of the sales they queued (foldSales, batches of 1,000). Unlike CPU time
 * (scripts/order-statement-cost.ts), the count does not move with the machine's load: the same
 * checkout reads the same to about 1% at load 2 or 20, so pieces of 10k instructions an order
 * (a few µs) can be weighed on a busy shared VM. It leaves out what an instruction costs (cache
 * misses, the WAL's fsync), so a time measurement still has the last word.
 *
 *   node scripts/order-statement-instructions.ts /tmp/before . [--orders 800] [--batch 16]
 *   node scripts/order-statement-instructions.ts . '.|drop index orders_created'   # one piece
 *   node scripts/order-statement-instructions.ts /tmp/before . --prices  # lines name their price
 *
 * Each argument is a checkout, optionally followed by `|` and SQL statements (`;`-separated) run
 * on its database once seeded. A throwaway cluster (initdb into a temporary folder, fsync off,
 * JIT off) is started under `valgrind --tool=callgrind --trace-children=yes` on `--port`
 * (default 3550), run as the `postgres` user when this runs as root, and removed at the end. Per
 * side, on a database of its own migrated and seeded by its own code, four fresh backends run:
 * a warm-up (`--warm` orders, fanned out and folded), the same then `--orders` more, the same then
 * their fan-out, the same then their fold; the differences of their totals are the orders' cost,
 * their fan-out's and their fold's. Needs
 * valgrind and PostgreSQL's server binaries (`--bin`, default /usr/lib/postgresql/15/bin).
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import pg from 'pg'
import { catalogue } from '../src/products/catalogue.ts'
import { benchCustomer, formLineCount, pickSkus } from '../test/bench/flows.ts'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    batch: { type: 'string', default: '16' },
    orders: { type: 'string', default: '800' },
    warm: { type: 'string', default: '200' },
    port: { type: 'string', default: '3550' },
    bin: { type: 'string', default: '/usr/lib/postgresql/15/bin' },
    // Each line names its catalogue price (unitPriceCents), as the order form's lines do.
    prices: { type: 'boolean', default: false },
  },
})
const batch = Number(args.batch)
const orders = Number(args.orders)
const sides = positionals.length > 0 ? positionals : ['.']

// The same orders on every side: a seeded generator for the line mix and states.
let seed = 1
Math.random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

const root = mkdtempSync(path.join(os.tmpdir(), 'order-instructions-'))
const dataDir = path.join(root, 'data')
const outDir = path.join(root, 'callgrind')
const asPostgres = (command: string, argv: string[]) =>
  process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', command, ...argv]]
    : [command, argv]
chmodSync(root, 0o777)
const [initCmd, initArgs] = asPostgres(path.join(args.bin, 'initdb'), [
  '-D',
  dataDir,
  '-A',
  'trust',
  '-U',
  'postgres',
])
execFileSync(initCmd as string, initArgs as string[], { stdio: 'ignore' })
execFileSync(...(asPostgres('mkdir', [outDir]) as [string, string[]]))
const settings = ['fsync=off', 'jit=off', 'autovacuum=off', 'shared_buffers=128MB']
const [pgCmd, pgArgs] = asPostgres('valgrind', [
  '--tool=callgrind',
  '--trace-children=yes',
  '--vgdb=no',
  `--callgrind-out-file=${outDir}/cg.%p`,
  path.join(args.bin, 'postgres'),
  '-D',
  dataDir,
  '-p',
  args.port,
  '-k',
  root,
  '-c',
  'listen_addresses=127.0.0.1',
  ...settings.flatMap((s) => ['-c', s]),
])
const postmaster = spawn(pgCmd as string, pgArgs as string[], { stdio: 'ignore' })
const server = `postgres://postgres@127.0.0.1:${args.port}`

/** The instructions a backend ran in its life, from the file callgrind writes as it exits. */
async function instructionsOf(pid: number): Promise<number> {
  const file = path.join(outDir, `cg.${pid}`)
  for (let i = 0; i < 300 && !existsSync(file); i++) await sleep(100)
  await sleep(300)
  const total = /^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'))
  if (!total) throw new Error(`no total in ${file}`)
  return Number(total[1])
}

const priceOf = new Map(catalogue.map((p) => [p.sku, p.priceCents]))
const request = () => ({
  items: pickSkus(formLineCount()).map((sku) =>
    args.prices ? { sku, quantity: 1, unitPriceCents: priceOf.get(sku) } : { sku, quantity: 1 },
  ),
  customer: benchCustomer(),
  idempotencyKey: `api:${randomUUID()}`,
})

try {
  for (let i = 0; i < 600; i++) {
    const probe = new pg.Client({ connectionString: `${server}/postgres` })
    try {
      await probe.connect()
      await probe.end()
      break
    } catch {
      await sleep(200)
    }
  }
  console.log(JSON.stringify({ date: new Date().toISOString(), batch, orders, warm: args.warm }))
  for (const [n, spec] of sides.entries()) {
    const [dirArg = '.', statements = ''] = spec.split('|')
    const dir = path.resolve(dirArg)
    const from = (file: string) => import(path.join(dir, 'src', file))
    const database = `instructions_${n}`
    const admin = new pg.Client({ connectionString: `${server}/postgres` })
    await admin.connect()
    await admin.query(`create database ${database}`)
    await admin.end()
    const { connect } = await from('db/connect.ts')
    const open = () => connect({ databaseUrl: `${server}/${database}`, dataDir: '', poolSize: 1 })
    let db = open()
    await (await from('db/migrate.ts')).migrateToLatest(db)
    await (await from('products/seed.ts')).seedCatalogue(db)
    await sql`update products set stock = 1000000000`.execute(db)
    for (const s of statements.split(';').filter((x) => x.trim())) await sql.raw(s).execute(db)
    await db.destroy()
    const fanOutFile = path.join(dir, 'src/webhooks/fan-out.ts')
    const fanOut = existsSync(fanOutFile) ? (await import(fanOutFile)).fanOut : undefined
    const { placeOrderBatch } = await from('orders/place-order-batch.ts')
    const place = async (count: number) => {
      const requests = Array.from({ length: count }, request)
      for (let i = 0; i < count; i += batch) {
        const results = await placeOrderBatch(db, requests.slice(i, i + batch), { emails: false })
        for (const r of results) if (r instanceof Error || r.kind !== 'placed') throw r
      }
    }
    const fan = async () => {
      if (fanOut) while ((await fanOut(db, 250)) > 0) {}
    }
    const { foldSales } = await from('insights/sales-fold.ts')
    // The sales fold, in batches of 1,000 (the service folds every FOLD_INTERVAL_MS, a few
    // hundred sales at a time under load).
    const fold = async () => {
      while ((await foldSales(db, 1000)) > 0) {}
    }
    /** One fresh backend running `steps`; its instructions once it has exited. */
    const backend = async (steps: (() => Promise<void>)[]) => {
      seed = 1
      db = open()
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)
      for (const step of steps) await step()
      await db.destroy()
      const instructions = await instructionsOf(rows[0]?.pid as number)
      // What it left (events, sales) is fanned out and folded by another backend, uncounted, so
      // every backend starts from an empty queue and outbox.
      db = open()
      await fan()
      await fold()
      await db.destroy()
      return instructions
    }
    const warmUp = [() => place(Number(args.warm)), fan, fold]
    const base = await backend(warmUp)
    const placed = await backend([...warmUp, () => place(orders)])
    const fanned = await backend([...warmUp, () => place(orders), fan])
    const folded = await backend([...warmUp, () => place(orders), fan, fold])
    const perOrder = (x: number) => Math.round(x / orders)
    console.log(
      JSON.stringify({
        side: spec,
        placeIrPerOrder: perOrder(placed - base),
        fanOutIrPerOrder: perOrder(fanned - placed),
        foldIrPerOrder: perOrder(folded - fanned),
        totalIrPerOrder: perOrder(folded - base),
      }),
    )
  }
} finally {
  const [stopCmd, stopArgs] = asPostgres(path.join(args.bin, 'pg_ctl'), [
    '-D',
    dataDir,
    'stop',
    '-m',
    'fast',
  ])
  try {
    execFileSync(stopCmd as string, stopArgs as string[], { stdio: 'ignore' })
  } catch {
    postmaster.kill()
  }
  rmSync(root, { recursive: true, force: true })
}
