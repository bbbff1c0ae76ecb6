/**
 * The yardstick of issue 19: a plain app on the service's own stack (Fastify, pg, Eta through
 * @fastify/view) answering two of TechEmpower's Framework Benchmarks test types, written from
 * their published requirements ("Framework Tests", test types 2 and 4):
 *
 * - `GET /db`, single database query: one row of the 10,000-row `world` table, picked by a
 *   random id in 1..10,000, answered as JSON `{"id":3217,"randomNumber":2149}`.
 * - `GET /fortunes`: every row of `fortune` (no ORDER BY), plus one made at request time with
 *   the message "Additional fortune added at request time." (id 0, not stored), sorted by
 *   message in code, rendered to an HTML table by a template that escapes the messages; UTF-8.
 *
 * Both answer with `Server` and `Date` headers and a Content-Length, uncompressed, without any
 * cache of rows, and with pg's prepared statements (the requirements encourage them). Nothing
 * is logged (the requirements ask for no disk logging).
 *
 * Its tables live in a schema of their own (`peer`) in whatever database it is given, so the
 * service's migrations never see them: `setupPeerTables` makes and fills them afresh.
 *
 * Run alone (npm run bench starts it): DATABASE_URL, PORT, HOST (127.0.0.1), WEB_CONCURRENCY
 * (workers through node:cluster, as the service's) and DATABASE_POOL_SIZE (10 per worker, the
 * service's default).
 */
import cluster from 'node:cluster'
import { fileURLToPath } from 'node:url'
import fastifyView from '@fastify/view'
import { Eta } from 'eta'
import Fastify, { type FastifyInstance } from 'fastify'
import pg from 'pg'

/** Rows of `peer.world` (the requirements: "known to contain 10,000 rows", ids 1..10,000). */
export const worldRows = 10_000
/** The message of the fortune each request adds (requirement 7 of test type 4, verbatim). */
export const additionalFortune = 'Additional fortune added at request time.'

/**
 * The dozen fortunes, as in the requirements' example answer: one in Japanese, one with a
 * `<script>` tag, one with an apostrophe, two with an em dash.
 */
export const fortunes: readonly { id: number; message: string }[] = [
  { id: 1, message: 'fortune: No such file or directory' },
  {
    id: 2,
    message: "A computer scientist is someone who fixes things that aren't broken.",
  },
  { id: 3, message: 'After enough decimal places, nobody gives a damn.' },
  { id: 4, message: 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1' },
  {
    id: 5,
    message: 'A computer program does what you tell it to do, not what you want it to do.',
  },
  { id: 6, message: 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen' },
  { id: 7, message: 'Any program that runs right is obsolete.' },
  { id: 8, message: 'A list is only as strong as its weakest link. — Donald Knuth' },
  { id: 9, message: 'Feature: A bug with seniority.' },
  { id: 10, message: 'Computers make very fast, very accurate mistakes.' },
  {
    id: 11,
    message: '<script>alert("This should not be displayed in a browser alert box.");</script>',
  },
  { id: 12, message: 'フレームワークのベンチマーク' },
]

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`

/**
 * Makes schema `peer` with `world` (10,000 rows, randomNumber at random in 1..10,000) and
 * `fortune` (the dozen above), dropping any earlier ones. `exec` runs a script of several
 * statements without parameters (pg's `client.query`, PGlite's `exec`).
 */
export async function setupPeerTables(exec: (script: string) => Promise<unknown>): Promise<void> {
  await exec(`
    create schema if not exists peer;
    drop table if exists peer.world, peer.fortune;
    create table peer.world (id integer primary key, "randomNumber" integer not null);
    insert into peer.world (id, "randomNumber")
      select i, 1 + floor(random() * ${worldRows})::integer from generate_series(1, ${worldRows}) i;
    create table peer.fortune (id integer primary key, message varchar(2048) not null);
    insert into peer.fortune (id, message) values
      ${fortunes.map((f) => `(${f.id}, ${quote(f.message)})`).join(',\n      ')};
    analyze peer.world;
    analyze peer.fortune;
  `)
}

/**
 * Runs one statement with parameters and gives its rows. `name` lets a driver that can prepare
 * statements (pg) parse and plan it once per connection; one that cannot may ignore it.
 */
export type Query = <R>(name: string, text: string, values?: unknown[]) => Promise<R[]>

/** A Query over a pg pool, with named (prepared) statements. */
export const pgQuery =
  (pool: pg.Pool): Query =>
  async <R>(name: string, text: string, values: unknown[] = []) =>
    (await pool.query({ name, text, values })).rows as R[]

interface World {
  id: number
  randomNumber: number
}
interface Fortune {
  id: number
  message: string
}

/** By message, as strings compare in JavaScript (UTF-16 code units): the example's order. */
const byMessage = (a: Fortune, b: Fortune) =>
  a.message < b.message ? -1 : a.message > b.message ? 1 : 0

/** The peer's Fastify app over `query`: GET /db and GET /fortunes (see the top of the file). */
export async function buildPeer(query: Query): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(fastifyView, {
    engine: { eta: new Eta({ autoEscape: true }) },
    templates: fileURLToPath(new URL('./peer', import.meta.url)),
    production: true,
  })

  app.get(
    '/db',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { id: { type: 'integer' }, randomNumber: { type: 'integer' } },
            required: ['id', 'randomNumber'],
          },
        },
      },
    },
    async (_request, reply) => {
      const id = 1 + Math.floor(Math.random() * worldRows)
      const [world] = await query<World>(
        'peer-world',
        'select id, "randomNumber" from peer.world where id = $1',
        [id],
      )
      if (!world) throw new Error(`world ${id} is missing: was setupPeerTables run?`)
      reply.header('server', 'peer')
      return world
    },
  )

  app.get('/fortunes', async (_request, reply) => {
    const list = await query<Fortune>('peer-fortunes', 'select id, message from peer.fortune')
    list.push({ id: 0, message: additionalFortune })
    list.sort(byMessage)
    reply.header('server', 'peer').type('text/html; charset=utf-8')
    return reply.viewAsync('fortunes.eta', { fortunes: list })
  })
  return app
}

/** One process serving until SIGTERM (a worker: until its primary goes). */
async function serve() {
  const pool = new pg.Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
    // How npm run bench tells the peer's backends from the service's (their CPU per request).
    application_name: 'peer',
  })
  const app = await buildPeer(pgQuery(pool))
  await app.listen({
    port: Number(process.env.PORT ?? 3302),
    host: process.env.HOST ?? '127.0.0.1',
  })
  const stop = async () => {
    await app.close()
    await pool.end()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  if (cluster.isWorker) process.once('disconnect', stop)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const workers = Number(process.env.WEB_CONCURRENCY ?? 1)
  if (cluster.isPrimary && workers > 1) {
    for (let i = 0; i < workers; i++) cluster.fork()
    process.once('SIGTERM', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM')
      process.exit(0)
    })
  } else {
    await serve()
  }
}
