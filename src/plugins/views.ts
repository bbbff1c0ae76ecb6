import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import fastifyView from '@fastify/view'
import { Eta } from 'eta'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { formatCents } from '../money.ts'
import { usStates } from '../us-states.ts'

const root = (dir: string) => fileURLToPath(new URL(`../../${dir}`, import.meta.url))

/** Eta templates from views/ (compiled once outside development) and static files under /public/. */
export default fp(
  async (app, { config }: { config: Config }) => {
    await app.register(fastifyView, {
      engine: { eta: new Eta({ autoEscape: true, autoTrim: [false, 'nl'] }) },
      templates: root('views'),
      production: config.NODE_ENV !== 'development',
      defaultContext: { formatCents, usStates },
    })
    await app.register(fastifyStatic, {
      root: root('public'),
      prefix: '/public/',
      maxAge: config.NODE_ENV === 'production' ? '1d' : 0,
    })
  },
  { name: 'views' },
)
