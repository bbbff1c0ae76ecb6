import Fastify from 'fastify'

// The HTTP ceiling of this machine: Fastify answering a constant, measured beside the service.
const app = Fastify({ logger: false })
app.get('/', () => ({ hello: 'world' }))
await app.listen({ port: Number(process.env.PORT ?? 3001), host: '127.0.0.1' })
